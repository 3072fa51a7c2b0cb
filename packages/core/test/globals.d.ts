/** Which vitest project runs the file: 'node' or 'browser' (set by vitest.config.ts). */
declare const __TEST_PLATFORM__: 'node' | 'browser'

declare module '*?raw' {
  const text: string
  export default text
}
