-- Up Migration
-- The monolith's schema in the classic shape it grew into before the services existed: integer
-- keys, one status column per order, stock beside products, money in cents, passwords hashed with
-- salted SHA-256 (which identity re-hashes with scrypt at a customer's first login after the move).
CREATE TABLE customers (
  id bigserial PRIMARY KEY,
  email text NOT NULL UNIQUE,
  name text NOT NULL,
  password_hash text NOT NULL,
  address text NOT NULL DEFAULT '',
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE products (
  id bigserial PRIMARY KEY,
  sku text NOT NULL UNIQUE,
  name text NOT NULL,
  price_cents integer NOT NULL CHECK (price_cents > 0),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE stock (
  product_id bigint PRIMARY KEY REFERENCES products (id),
  quantity integer NOT NULL CHECK (quantity >= 0),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE orders (
  id bigserial PRIMARY KEY,
  customer_id bigint NOT NULL REFERENCES customers (id),
  status text NOT NULL CHECK (status IN ('placed', 'paid', 'shipped', 'delivered', 'cancelled')),
  total_cents integer NOT NULL CHECK (total_cents >= 0),
  placed_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX orders_by_customer ON orders (customer_id, placed_at DESC);

CREATE TABLE order_lines (
  order_id bigint NOT NULL REFERENCES orders (id),
  line_no integer NOT NULL,
  product_id bigint NOT NULL REFERENCES products (id),
  quantity integer NOT NULL CHECK (quantity > 0),
  unit_price_cents integer NOT NULL CHECK (unit_price_cents > 0),
  PRIMARY KEY (order_id, line_no)
);

-- A history worth migrating, generated once by this migration (about a second), never on a start:
-- 200 products, 5,000 customers, 20,000 past orders of 1–3 lines. Deterministic: the same rows on
-- every machine. Customer n's password is `legacy-<n>`.
INSERT INTO products (sku, name, price_cents, updated_at)
SELECT format('LEG-%s', lpad(n::text, 4, '0')), format('Legacy product %s', n), 100 + (n * 379) % 9900,
       timestamptz '2024-01-01' + n * interval '1 hour'
FROM generate_series(1, 200) AS n;

INSERT INTO stock (product_id, quantity, updated_at)
SELECT id, 1000 + (id * 7) % 500, timestamptz '2024-01-01' FROM products;

INSERT INTO customers (email, name, password_hash, address, created_at, updated_at)
SELECT format('customer%s@legacy.example', n), format('Customer %s', n),
       format('sha256$s%s$%s', n, encode(sha256(convert_to(format('s%slegacy-%s', n, n), 'UTF8')), 'hex')),
       format('%s Old Street, Oldtown', n),
       timestamptz '2023-01-01' + n * interval '90 minutes', timestamptz '2023-01-01' + n * interval '90 minutes'
FROM generate_series(1, 5000) AS n;

INSERT INTO orders (id, customer_id, status, total_cents, placed_at, updated_at)
SELECT o, 1 + (o * 7919) % 5000,
       (ARRAY['delivered', 'delivered', 'delivered', 'shipped', 'cancelled', 'paid'])[1 + o % 6],
       0, timestamptz '2024-01-01' + o * interval '20 minutes', timestamptz '2024-01-01' + o * interval '20 minutes'
FROM generate_series(1, 20000) AS o;

INSERT INTO order_lines (order_id, line_no, product_id, quantity, unit_price_cents)
SELECT o.id, l, p.id, 1 + (o.id + l) % 3, p.price_cents
FROM orders AS o
CROSS JOIN generate_series(1, 3) AS l
JOIN products AS p ON p.id = 1 + (o.id * 31 + l * 17) % 200
WHERE l <= 1 + o.id % 3;

UPDATE orders AS o SET total_cents = t.total
FROM (SELECT order_id, sum(quantity * unit_price_cents) AS total FROM order_lines GROUP BY order_id) AS t
WHERE t.order_id = o.id;
SELECT setval('orders_id_seq', 20000);
