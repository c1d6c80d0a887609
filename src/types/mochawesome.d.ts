declare module 'mochawesome/addContext.js' {
  function addContext(test: Mocha.Context, context: string | { title: string; value: unknown }): void;
  export default addContext;
}
