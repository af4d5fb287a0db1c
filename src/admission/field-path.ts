/** Field paths live in src/lib (shared vocabulary); re-exported for the admission steps' imports. */
export { formatPath, head, itemSeg, keySeg, type FieldPath, type Segment } from '../lib/field-path.ts';
