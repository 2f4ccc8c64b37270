/** Types for fft.js (radix-4 FFT; the package ships none). Only what src/dp/pld.ts uses. */
declare module 'fft.js' {
  type Numbers = number[] | Float64Array
  export default class FFT {
    constructor (size: number)
    readonly size: number
    /** Real input of `size` values; fills the left half of the complex `out` (2·size values). */
    realTransform (out: Numbers, data: Numbers): void
    /** Fills the right half of a spectrum from its left half (conjugate symmetry). */
    completeSpectrum (spectrum: Numbers): void
    transform (out: Numbers, data: Numbers): void
    /** Inverse transform, divided by size. */
    inverseTransform (out: Numbers, data: Numbers): void
  }
}
