/**
 * The scattering transform of images (Mallat 2012; Bruna & Mallat 2013): fixed, data-independent features
 * that DP-SGD learns from far better than from pixels (Tramèr & Boneh, "Differentially Private Learning
 * Needs Better Features", ICLR 2021). Morlet wavelets at J = 2 scales and L = 8 orientations, the modulus,
 * and a Gaussian low-pass, to second order: 1 + J·L + L²·J(J−1)/2 = 81 channels per input channel on a
 * grid 2^J = 4 times coarser (28×28 MNIST → 8×8×81 = 5,184 values). The filter bank is kymatio's
 * (Morlet of slant 4/L, σ = 0.8·2^j, ξ = 3π/4·2^−j; low-pass Gaussian σ = 0.8·2^(J−1)) and the
 * transform runs in the Fourier domain (fft.js) on the image reflected out to a power-of-two grid.
 * Each example is then group-normalized (groups of 3 channels, mean 0 and variance 1 within the group),
 * which needs no statistics of the data and so costs no privacy.
 */

import FFT from 'fft.js'
import { DatasetError } from './errors.ts'

/** Scales of the wavelets (the output grid is 2^J times coarser). */
export const SCATTERING_J = 2
/** Orientations of the wavelets. */
export const SCATTERING_L = 8
/** Consecutive output channels normalized together, per example (81 = 27 groups of 3). */
export const SCATTERING_GROUP = 3
/** Added to each group's variance before dividing. */
const GROUP_EPS = 1e-5

/** Output channels per input channel: S0, then each first-order S1 followed by its second-order S2s. */
export const SCATTERING_CHANNELS = 1 + SCATTERING_J * SCATTERING_L + SCATTERING_L * SCATTERING_L * SCATTERING_J * (SCATTERING_J - 1) / 2

export interface Scattering {
  /** [height, width, channels] of one input image (HWC). */
  inputShape: number[]
  /** [height / 2^J, width / 2^J (of the padded grid), 81 · channels] (HWC). */
  outputShape: number[]
  /** Values per output example. */
  features: number
  /**
   * Writes the normalized features of the HWC image `x[xOffset … xOffset + inputs)` to
   * `out[outOffset … outOffset + features)`. Deterministic: the same input gives the same bits.
   */
  apply: (x: Float32Array, xOffset: number, out: Float32Array, outOffset: number) => void
}

/** A wavelet's Fourier-domain filter at each resolution it is applied at (index r: grid / 2^r). */
interface Wavelet { j: number, levels: Float64Array[] }

/** The scattering transform of `inputShape` ([height, width, channels] or [height, width]). */
export function createScattering (inputShape: readonly number[]): Scattering {
  const [h, w, c = 1] = inputShape
  if (!(inputShape.length === 2 || inputShape.length === 3) || ![h, w, c].every(v => Number.isInteger(v) && v >= 1)) {
    throw new DatasetError(`dataset.transform scattering needs images (shape [height, width, channels]), got shape [${inputShape.join(', ')}]`)
  }
  const J = SCATTERING_J
  if (h < 2 ** J || w < 2 ** J) throw new DatasetError(`dataset.transform scattering needs images of at least ${2 ** J}×${2 ** J} pixels, got ${h}×${w}`)
  const mh = paddedSize(h)
  const mw = paddedSize(w)
  const oh = mh >> J
  const ow = mw >> J
  const channels = SCATTERING_CHANNELS * c
  const { psi, phi } = filterBank(mh, mw)
  // the 2-D FFT of the grid 2^r coarser, r = 0 … J (built once, not looked up per map)
  const fft2 = Array.from({ length: J + 1 }, (_, r) => createFft2(mh >> r, mw >> r))
  const u0 = new Float64Array(2 * mh * mw)
  const u1 = new Float64Array(2 * mh * mw)
  const u2 = new Float64Array(2 * mh * mw)
  const low = new Float64Array(2 * oh * ow)
  const maps = new Float64Array(SCATTERING_CHANNELS * oh * ow)

  /** `maps[k]` = the low-pass of the spectrum `u` (m×n, on the grid 2^res coarser) on the output grid. */
  const lowPass = (u: Float64Array, m: number, n: number, res: number, k: number): void => {
    periodizeProduct(u, m, n, phi[res], m / oh, low)
    fft2[J].inverse(low)
    const base = k * oh * ow
    for (let i = 0; i < oh * ow; i++) maps[base + i] = low[2 * i]
  }

  const apply = (x: Float32Array, xOffset: number, out: Float32Array, outOffset: number): void => {
    for (let ch = 0; ch < c; ch++) {
      padReflect(x, xOffset, h, w, c, ch, mh, mw, u0)
      fft2[0].forward(u0)
      lowPass(u0, mh, mw, 0, 0)
      let k = 1
      for (const a of psi) {
        // first order: |x ⋆ ψ_a| on the grid 2^j1 coarser
        const m1 = mh >> a.j
        const n1 = mw >> a.j
        periodizeProduct(u0, mh, mw, a.levels[0], 1 << a.j, u1)
        const p1 = fft2[a.j]
        p1.inverse(u1)
        modulus(u1, m1 * n1)
        p1.forward(u1)
        lowPass(u1, m1, n1, a.j, k++)
        for (const b of psi) {
          if (b.j <= a.j) continue
          // second order: ||x ⋆ ψ_a| ⋆ ψ_b| on the grid 2^j2 coarser
          const m2 = mh >> b.j
          const n2 = mw >> b.j
          periodizeProduct(u1, m1, n1, b.levels[a.j], 1 << (b.j - a.j), u2)
          const p2 = fft2[b.j]
          p2.inverse(u2)
          modulus(u2, m2 * n2)
          p2.forward(u2)
          lowPass(u2, m2, n2, b.j, k++)
        }
      }
      writeNormalized(maps, oh * ow, ch, channels, out, outOffset)
    }
  }
  return { inputShape: [h, w, c], outputShape: [oh, ow, channels], features: oh * ow * channels, apply }
}

/** The smallest power of two that leaves a margin of 2^J around `size` pixels (28 → 32). */
function paddedSize (size: number): number {
  let m = 1
  while (m < size + 2 ** SCATTERING_J) m *= 2
  return m
}

/**
 * Channel `ch` of the HWC image into the complex m×n grid `u` (imaginary parts 0), centred, the margins
 * filled by reflection about the edge pixels (numpy's `reflect`), repeated for margins wider than the image.
 */
function padReflect (x: Float32Array, off: number, h: number, w: number, c: number, ch: number, m: number, n: number, u: Float64Array): void {
  const top = (m - h) >> 1
  const left = (n - w) >> 1
  for (let i = 0; i < m; i++) {
    const si = reflect(i - top, h)
    for (let j = 0; j < n; j++) {
      const sj = reflect(j - left, w)
      u[2 * (i * n + j)] = x[off + (si * w + sj) * c + ch]
      u[2 * (i * n + j) + 1] = 0
    }
  }
}

function reflect (i: number, size: number): number {
  if (size === 1) return 0
  const period = 2 * (size - 1)
  let k = ((i % period) + period) % period
  if (k >= size) k = period - k
  return k
}

/**
 * out (m/k × n/k, complex) = the k×k periodization (block mean) of u ⊙ filter (u complex m×n, filter
 * real m×n): subsampling by k in space.
 */
function periodizeProduct (u: Float64Array, m: number, n: number, filter: Float64Array, k: number, out: Float64Array): void {
  const mo = m / k
  const no = n / k
  const scale = 1 / (k * k)
  for (let a = 0; a < mo; a++) {
    for (let b = 0; b < no; b++) {
      let re = 0
      let im = 0
      for (let p = 0; p < k; p++) {
        const row = (a + p * mo) * n
        for (let q = 0; q < k; q++) {
          const idx = row + b + q * no
          const f = filter[idx]
          re += u[2 * idx] * f
          im += u[2 * idx + 1] * f
        }
      }
      out[2 * (a * no + b)] = re * scale
      out[2 * (a * no + b) + 1] = im * scale
    }
  }
}

/** u[i] = |u[i]| + 0i for the first `count` complex values. */
function modulus (u: Float64Array, count: number): void {
  for (let i = 0; i < count; i++) {
    const re = u[2 * i]
    const im = u[2 * i + 1]
    u[2 * i] = Math.sqrt(re * re + im * im)
    u[2 * i + 1] = 0
  }
}

/**
 * Groups of SCATTERING_GROUP channels of `maps` (81 maps of `area` values, channel-major) standardized
 * within the group and written HWC into `out` as input channel `ch`'s 81 channels of `channels`.
 */
function writeNormalized (maps: Float64Array, area: number, ch: number, channels: number, out: Float32Array, outOffset: number): void {
  for (let g = 0; g < SCATTERING_CHANNELS; g += SCATTERING_GROUP) {
    const start = g * area
    const end = Math.min(SCATTERING_CHANNELS, g + SCATTERING_GROUP) * area
    let sum = 0
    for (let i = start; i < end; i++) sum += maps[i]
    const mean = sum / (end - start)
    let sq = 0
    for (let i = start; i < end; i++) { const d = maps[i] - mean; sq += d * d }
    const inv = 1 / Math.sqrt(sq / (end - start) + GROUP_EPS)
    for (let k = g; k < Math.min(SCATTERING_CHANNELS, g + SCATTERING_GROUP); k++) {
      const to = ch * SCATTERING_CHANNELS + k
      for (let i = 0; i < area; i++) out[outOffset + i * channels + to] = (maps[k * area + i] - mean) * inv
    }
  }
}

interface Fft2 {
  /** In place, interleaved complex m×n (row-major). */
  forward: (u: Float64Array) => void
  /** In place, divided by m·n. */
  inverse: (u: Float64Array) => void
}

/** A 2-D complex FFT of m×n (powers of two) by rows then columns. */
function createFft2 (m: number, n: number): Fft2 {
  const rows = new FFT(n)
  const cols = new FFT(m)
  const rowOut = new Float64Array(2 * n)
  const colIn = new Float64Array(2 * m)
  const colOut = new Float64Array(2 * m)
  const run = (u: Float64Array, inverse: boolean): void => {
    for (let i = 0; i < m; i++) {
      const row = u.subarray(2 * i * n, 2 * (i + 1) * n)
      if (inverse) rows.inverseTransform(rowOut, row); else rows.transform(rowOut, row)
      row.set(rowOut)
    }
    for (let j = 0; j < n; j++) {
      for (let i = 0; i < m; i++) { colIn[2 * i] = u[2 * (i * n + j)]; colIn[2 * i + 1] = u[2 * (i * n + j) + 1] }
      if (inverse) cols.inverseTransform(colOut, colIn); else cols.transform(colOut, colIn)
      for (let i = 0; i < m; i++) { u[2 * (i * n + j)] = colOut[2 * i]; u[2 * (i * n + j) + 1] = colOut[2 * i + 1] }
    }
  }
  return { forward: u => run(u, false), inverse: u => run(u, true) }
}

/**
 * kymatio's filter bank on the padded m×n grid, in the Fourier domain (real: the filters are symmetric).
 * ψ_{j,θ} at every resolution r ≤ j it is applied at; φ at every resolution r < J.
 */
function filterBank (m: number, n: number): { psi: Wavelet[], phi: Float64Array[] } {
  const J = SCATTERING_J
  const L = SCATTERING_L
  const spectrum = (spatial: Float64Array): Float64Array => {
    createFft2(m, n).forward(spatial)
    const re = new Float64Array(m * n)
    for (let i = 0; i < m * n; i++) re[i] = spatial[2 * i]
    return re
  }
  const psi: Wavelet[] = []
  for (let j = 0; j < J; j++) {
    for (let t = 0; t < L; t++) {
      const theta = (Math.trunc(L - L / 2 - 1) - t) * Math.PI / L
      const f = spectrum(morlet(m, n, 0.8 * 2 ** j, theta, 3 / 4 * Math.PI / 2 ** j, 4 / L))
      const levels: Float64Array[] = []
      for (let r = 0; r < Math.min(j + 1, Math.max(J - 1, 1)); r++) levels.push(periodizeFilter(f, m, n, r))
      psi.push({ j, levels })
    }
  }
  const phiF = spectrum(gabor(m, n, 0.8 * 2 ** (J - 1), 0, 0, 1))
  const phi: Float64Array[] = []
  for (let r = 0; r < J; r++) phi.push(periodizeFilter(phiF, m, n, r))
  return { psi, phi }
}

/** A Gabor filter in space (complex, interleaved), periodized over 5×5 copies of the grid. */
function gabor (m: number, n: number, sigma: number, theta: number, xi: number, slant: number): Float64Array {
  const cos = Math.cos(theta)
  const sin = Math.sin(theta)
  // curv = R · diag(1, slant²) · R⁻¹ / (2σ²)
  const s2 = slant * slant
  const c00 = (cos * cos + s2 * sin * sin) / (2 * sigma * sigma)
  const c01 = (cos * sin - s2 * sin * cos) / (2 * sigma * sigma)
  const c11 = (sin * sin + s2 * cos * cos) / (2 * sigma * sigma)
  const out = new Float64Array(2 * m * n)
  for (let ex = -2; ex <= 2; ex++) {
    for (let ey = -2; ey <= 2; ey++) {
      for (let i = 0; i < m; i++) {
        const x = i + ex * m
        for (let j = 0; j < n; j++) {
          const y = j + ey * n
          const mag = Math.exp(-(c00 * x * x + 2 * c01 * x * y + c11 * y * y))
          const phase = (x * cos + y * sin) * xi
          out[2 * (i * n + j)] += mag * Math.cos(phase)
          out[2 * (i * n + j) + 1] += mag * Math.sin(phase)
        }
      }
    }
  }
  const norm = 2 * Math.PI * sigma * sigma / slant
  for (let i = 0; i < out.length; i++) out[i] /= norm
  return out
}

/** A Morlet wavelet: the Gabor filter minus the Gaussian envelope that makes its mean zero. */
function morlet (m: number, n: number, sigma: number, theta: number, xi: number, slant: number): Float64Array {
  const wave = gabor(m, n, sigma, theta, xi, slant)
  const envelope = gabor(m, n, sigma, theta, 0, slant)
  let wr = 0; let wi = 0; let er = 0; let ei = 0
  for (let i = 0; i < m * n; i++) { wr += wave[2 * i]; wi += wave[2 * i + 1]; er += envelope[2 * i]; ei += envelope[2 * i + 1] }
  // K = Σwave / Σenvelope (complex division)
  const d = er * er + ei * ei
  const kr = (wr * er + wi * ei) / d
  const ki = (wi * er - wr * ei) / d
  for (let i = 0; i < m * n; i++) {
    const re = envelope[2 * i]
    const im = envelope[2 * i + 1]
    wave[2 * i] -= kr * re - ki * im
    wave[2 * i + 1] -= kr * im + ki * re
  }
  return wave
}

/**
 * A Fourier-domain filter for use on the grid 2^r coarser: frequencies above that grid's band zeroed,
 * then folded (summed) onto m/2^r × n/2^r, as kymatio's `periodize_filter_fft`.
 */
function periodizeFilter (f: Float64Array, m: number, n: number, r: number): Float64Array {
  const k = 2 ** r
  const mo = m / k
  const no = n / k
  const lenX = Math.trunc(m * (1 - 2 ** -r))
  const startX = Math.trunc(m * 2 ** (-r - 1))
  const lenY = Math.trunc(n * (1 - 2 ** -r))
  const startY = Math.trunc(n * 2 ** (-r - 1))
  const out = new Float64Array(mo * no)
  for (let i = 0; i < m; i++) {
    if (i >= startX && i < startX + lenX) continue
    for (let j = 0; j < n; j++) {
      if (j >= startY && j < startY + lenY) continue
      out[(i % mo) * no + (j % no)] += f[i * n + j]
    }
  }
  return out
}
