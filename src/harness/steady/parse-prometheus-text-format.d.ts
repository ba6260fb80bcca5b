// The package ships no types. Only the default export is used, and metrics-text.ts validates its
// result with zod, so it is declared as returning `unknown`.
declare module 'parse-prometheus-text-format' {
  export default function parsePrometheusTextFormat(text: string): unknown;
}
