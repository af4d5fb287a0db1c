/** The operations an admission request can carry (admission.k8s.io/v1). */
export type Operation = 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';
