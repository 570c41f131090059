// aws-local-stepfunctions, loaded so that it runs on Node 20: its 3.x build
// calls Promise.withResolvers (Node >= 22), polyfilled here before import.
// Import StateMachine from this module rather than from the package.
if (!Promise.withResolvers) {
  Promise.withResolvers = function withResolvers() {
    let resolve;
    let reject;
    const promise = new this((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  };
}

export const { StateMachine } = await import('aws-local-stepfunctions');
