// adaptivecards-templating's declarations import `adaptivecards/src/schema`, which resolves to the
// adaptivecards package's TypeScript *sources* (CommonJS, not compilable under this project's
// settings). Herald only needs the card type as an opaque JSON object, so the path is mapped here.
export interface IAdaptiveCard {
  [key: string]: unknown;
}
