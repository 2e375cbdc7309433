/**
 * Whether the adapters may use the Node.js internals they feature-detect (each with a public
 * fallback). `GATEHOUSE_PUBLIC_API_ONLY=1` in the environment, read once at load, turns them all
 * off: the tests run both paths on every Node.js line and compare the bytes they give.
 */
export const useInternals: boolean = process.env.GATEHOUSE_PUBLIC_API_ONLY !== '1'
