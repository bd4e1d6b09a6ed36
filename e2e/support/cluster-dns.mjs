// A stand-in for a cluster's DNS, preloaded (`node --import`) into each process of the manifests'
// local run (e2e/k8s-local-run.e2e.test.ts): the names in MERCATO_TEST_HOSTS (`name=address,…`)
// resolve to those addresses, as a Kubernetes Service name resolves to its ClusterIP; every other
// name goes to the system's resolver. This machine has no cluster DNS, and /etc/hosts is not a
// test's to edit.
import dns from 'node:dns';

const hosts = new Map(
  (process.env.MERCATO_TEST_HOSTS ?? '')
    .split(',')
    .filter(Boolean)
    .map((entry) => /** @type {[string, string]} */ (entry.split('=', 2))),
);

if (hosts.size > 0) {
  const systemLookup = dns.lookup;
  /** @type {typeof dns.lookup} */
  const lookup = /** @type {any} */ (
    (/** @type {string} */ hostname, /** @type {any} */ options, /** @type {any} */ callback) => {
      const done = typeof options === 'function' ? options : callback;
      const settings = typeof options === 'object' && options !== null ? options : {};
      const address = hosts.get(hostname);
      if (address === undefined) return systemLookup(hostname, options, callback);
      const family = address.includes(':') ? 6 : 4;
      process.nextTick(() =>
        settings.all ? done(null, [{ address, family }]) : done(null, address, family),
      );
    }
  );
  dns.lookup = lookup;
  const systemPromise = dns.promises.lookup;
  dns.promises.lookup = /** @type {any} */ (
    async (/** @type {string} */ hostname, /** @type {any} */ options) => {
      const address = hosts.get(hostname);
      if (address === undefined) return systemPromise(hostname, options);
      const family = address.includes(':') ? 6 : 4;
      return options?.all ? [{ address, family }] : { address, family };
    }
  );
}
