-- Up Migration
-- New orders move too (docs/strangler-fig.md, phase 3): once the services own `orders`, the monolith
-- takes no new order; it still moves the orders it took along (paid, shipped, delivered or cancelled,
-- a cancellation putting its stock back on its shelf) until they finish.
INSERT INTO capabilities (name, owner) VALUES ('orders', 'monolith') ON CONFLICT (name) DO NOTHING;
