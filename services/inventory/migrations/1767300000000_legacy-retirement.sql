-- Up Migration
-- The monolith's retirement (docs/strangler-fig.md, phase N): set while the services own orders for
-- good; a hand-back of the shelf is refused from then (the monolith would never take it). The
-- operator's `mercato migrate retire` sets it before the monolith retires, and clears it when the
-- monolith refuses to.
ALTER TABLE legacy_capabilities ADD COLUMN retired_at timestamptz;
