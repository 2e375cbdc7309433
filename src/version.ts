/** The package version, without loading the native binding (the CLI's --version needs none). */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const VERSION: string = require('../../package.json').version

/** The value of SERVER_SOFTWARE and of the `Server` response header. */
export const SERVER_SOFTWARE = `gatehouse/${VERSION}`
