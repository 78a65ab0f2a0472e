import btree from 'sorted-btree';

/**
 * OrderedMap is sorted-btree's B+ tree (default comparator: numbers and strings in natural
 * order). sorted-btree ships CommonJS with `exports.default`; under Node ESM the default import
 * is `module.exports`, whose `default` member is the class, so this module unwraps it once for
 * the rest of src/kv.
 */
export const OrderedMap = btree.default;
export type OrderedMap<K, V> = InstanceType<typeof btree.default<K, V>>;
