-- Up Migration
-- The monolith's retirement (docs/strangler-fig.md, phase N): set while the services own orders for
-- good; a hand-back of the shelf is refused from then (the monolith would never take it). The
-- operator's `mercato migrate retire` sets it before the monolith retires, and clears it when the
-- monolith refuses to.
-- `retired_for_good` once the monolith did retire: the mark is never taken back from then.
ALTER TABLE legacy_capabilities
  ADD COLUMN retired_at timestamptz,
  ADD COLUMN retired_for_good boolean NOT NULL DEFAULT false;
