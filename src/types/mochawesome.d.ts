declare module 'mochawesome/addContext.js' {
  function addContext(test: Mocha.Context, context: string | { title: string; value: unknown }): void;
  export default addContext;
}

declare module 'mochawesome' {
  const Mochawesome: new (runner: Mocha.Runner, options: Mocha.MochaOptions) => Mocha.reporters.Base;
  export default Mochawesome;
}
