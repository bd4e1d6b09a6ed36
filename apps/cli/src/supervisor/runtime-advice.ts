/**
 * What `mercato start` says about the Node it runs on (every service runs on the same one): Node 20
 * is past its end of life, and the platform's Node processes cost a fifth to two fifths less CPU an
 * order on Node 22 or 24 (bench/orders, alternating runs; bench/README.md). Nothing for 22 and later.
 */
export function runtimeAdvice(version: string): string | undefined {
  const major = Number(/^v?(\d+)\./.exec(version)?.[1]);
  if (!Number.isInteger(major) || major >= 22) return undefined;
  return `running on Node ${version.replace(/^v?/, '')}, past its end of life: on Node 22 or 24 the platform takes a fifth to two fifths less CPU an order (bench/README.md)`;
}
