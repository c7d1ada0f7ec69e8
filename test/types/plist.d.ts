// The plist package (CommonJS, no bundled types): only what the tests use.
declare module 'plist' {
  const plist: { parse(xml: string): unknown; build(value: unknown): string };
  export default plist;
}
