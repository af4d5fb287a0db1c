/**
 * Code-unit order of two strings, for sorting timestamps the store writes (ISO 8601, one format).
 * `localeCompare` orders those the same way, but its first call builds an ICU collator, which pages
 * in Node's collation data for every locale (~1 MiB of the serving process's RSS, docs/benchmarks.md).
 */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
