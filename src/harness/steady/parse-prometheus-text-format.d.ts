// The package ships no types. Only the default export is used, and its result is checked by the
// caller, so it is declared as returning `unknown`.
declare module 'parse-prometheus-text-format' {
  export default function parsePrometheusTextFormat(text: string): unknown;
}
