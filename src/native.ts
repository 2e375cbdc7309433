/**
 * The native binding, loaded once through the napi-rs generated loader (`index.js` at the
 * package root). Everything else imports it from here.
 */
import type * as Binding from '../index'

// From dist/cjs/native.js the loader is two folders up.
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const binding: typeof Binding = require('../../index.js')

export type NativeServer = Binding.NativeServer
export type NativeOptions = Binding.NativeOptions
export type NativeStats = Binding.NativeStats
