/**
 * Faster and missing kernels of the tfjs wasm backend (4.22), registered before it initializes:
 *
 * - BatchMatMul / _FusedMatMul with a transposed operand: the shipped kernel then leaves XNNPACK for a
 *   naive loop (batch_mat_mul_impl.cc); every backward pass of a dense layer hits it. We transpose
 *   explicitly (a cheap copy) and run the XNNPACK path: the MNIST MLP trains ~3x faster.
 * - Conv2DBackpropFilter: not shipped at all, so convolutional models could not train on wasm. It is
 *   itself a convolution (XNNPACK): dW[kh,kw,ci,co] = sum_{b,y,x} x[b, y*s+kh, x*s+kw, ci] dy[b,y,x,co]
 *   is conv2d(padded x as [ci, H, W, batch], dy as [oh, ow, batch, co]) with dilation s (the stride).
 * - Conv2DBackpropInput (stride 1): the shipped kernel is a naive loop; a full convolution of dy with
 *   the flipped filter is the same result on XNNPACK (~8x faster on McMahan's CNN).
 * - MaxPoolGrad: the shipped kernel rescans every window for each input position; a single pass over
 *   the windows in JS is ~2.5x faster on the CNN's 2x2 pools.
 * - Identity and same-dtype Cast: share the buffer instead of copying it.
 * - With the SIMD loops of `wasm-simd.ts` (`enableWasmSimdKernels`, once the backend is up): max-pool
 *   gradients of pools that tile their input, the filter gradient's im2col and (8k output channels)
 *   its product, bias gradients (Sum over the leading axes) and bias adds (Add of a row to every
 *   row); each falls back to the code above.
 * `wasmKernelSelfTest` compares the numeric ones with the cpu backend.
 */

import * as tf from '@tensorflow/tfjs'
import { isWasmMemory, loadSimdKernels, simdFailure } from './wasm-simd.ts'
import type { SimdKernels } from './wasm-simd.ts'

type TensorInfo = tf.TensorInfo
type KernelFn = (args: { inputs: Record<string, TensorInfo>, backend: any, attrs: Record<string, any> }) => TensorInfo

let patched = false

/**
 * Kernel (wasm only) of relu followed by a max pool, back-propagated in one pass: `MaxPoolGrad`'s
 * inputs and attributes, where `input` is the relu's output; dy goes to the window's first maximum
 * only where that maximum is > 0 (= MaxPoolGrad times step(input)).
 */
export const MAX_POOL_RELU_GRAD = 'FedswarmMaxPoolReluGrad'
let simd: SimdKernels | null = null
/** The heap `simd` works on. */
let simdMemory: unknown = null

/** Largest im2col (values) the filter gradient builds; bigger ones take the convolution route (no copy). */
const IM2COL_MAX_VALUES = 1 << 24
/** Most rows of a product `matMulN8` takes over from XNNPACK (`simdFits`). */
const SIMD_PRODUCT_MAX_ROWS = 256
/**
 * Most columns of aᵀ·b computed as (bᵀ·a)ᵀ: the CNN's output-layer weight gradient, [1568, 32]ᵀ·[32, 10],
 * took 0.146 ms through XNNPACK and 0.058 ms flipped.
 */
const FLIP_MAX_COLS = 16

/** Registers the kernels above for the `wasm` backend (once; call before `setBackend('wasm')`). */
export function patchWasmKernels (): void {
  if (patched) return
  const get = (name: string): tf.KernelConfig => {
    const k = tf.getKernel(name, 'wasm')
    if (k == null) throw new Error(`wasm backend has no ${name} kernel to build on`)
    return k
  }
  const fn = (name: string): KernelFn => get(name).kernelFunc as unknown as KernelFn
  const transpose = fn('Transpose')
  const conv2d = fn('Conv2D')
  const pad = fn('PadV2')
  const reverse = fn('Reverse')
  const slice = fn('Slice')

  const swapLast = (x: TensorInfo, backend: any): TensorInfo => {
    const r = x.shape.length
    const perm = Array.from({ length: r }, (_, i) => i)
    perm[r - 1] = r - 2
    perm[r - 2] = r - 1
    return transpose({ inputs: { x }, backend, attrs: { perm } })
  }

  for (const name of ['BatchMatMul', '_FusedMatMul']) {
    const orig = get(name)
    const origFn = orig.kernelFunc as unknown as KernelFn
    replace(orig, (args) => {
      const { inputs, backend, attrs } = args
      const ta = attrs.transposeA === true
      const tb = attrs.transposeB === true
      const rows = inputs.a.shape[inputs.a.shape.length - (ta ? 1 : 2)]
      const inner = inputs.a.shape[inputs.a.shape.length - (ta ? 2 : 1)]
      const cols = inputs.b.shape[inputs.b.shape.length - (tb ? 2 : 1)]
      // _FusedMatMul: a bias row and relu or no activation are applied after the SIMD product
      const fusedOk = name === 'BatchMatMul' || (inputs.bias != null && inputs.bias.shape.length === 1 && inputs.bias.shape[0] === cols &&
        inputs.bias.dtype === 'float32' && inputs.preluActivationWeights == null && (attrs.activation === 'linear' || attrs.activation === 'relu'))
      const direct = fusedOk && simdFits(inputs.a, inputs.b, rows, cols)
      // aᵀ·b with few columns (a dense layer's weight gradient, xᵀ·dz): (bᵀ·a)ᵀ is a product of few rows
      const flipped = !direct && name === 'BatchMatMul' && ta && !tb && cols <= FLIP_MAX_COLS && simdFits(inputs.b, inputs.a, cols, rows)
      if (!ta && !tb && !direct) return origFn(args)
      const tmp: TensorInfo[] = []
      let out: TensorInfo
      if (simd != null && flipped) {
        const bt = keep(tmp, swapLast(inputs.b, backend))
        const prod = keep(tmp, backend.makeOutput([...batchShape(inputs.a, inputs.b), cols, rows], 'float32'))
        simd.matMulN8(heapOffset(backend, bt), heapOffset(backend, inputs.a), heapOffset(backend, prod), cols, inner, rows)
        out = swapLast(prod, backend)
      } else {
        const a = ta ? keep(tmp, swapLast(inputs.a, backend)) : inputs.a
        const b = tb ? keep(tmp, swapLast(inputs.b, backend)) : inputs.b
        if (simd != null && direct) {
          out = backend.makeOutput([...batchShape(a, b), rows, cols], 'float32')
          const o = heapOffset(backend, out)
          simd.matMulN8(heapOffset(backend, a), heapOffset(backend, b), o, rows, inner, cols)
          if (name !== 'BatchMatMul') simd.addRow(o, heapOffset(backend, inputs.bias), o, rows, cols, attrs.activation === 'relu' ? 0 : -Infinity)
        } else {
          out = origFn({ inputs: { ...inputs, a, b }, backend, attrs: { ...attrs, transposeA: false, transposeB: false } })
        }
      }
      for (const t of tmp) backend.disposeData(t.dataId)
      return out
    })
  }

  const convInfo = (xShape: number[], fShape: number[], attrs: Record<string, any>): tf.backend_util.Conv2DInfo =>
    tf.backend_util.computeConv2DInfo(xShape as [number, number, number, number], fShape as [number, number, number, number],
      attrs.strides, 1, attrs.pad, attrs.dimRoundingMode, false, 'channelsLast')
  const isNHWC = (attrs: Record<string, any>): boolean => attrs.dataFormat == null || attrs.dataFormat === 'NHWC' || attrs.dataFormat === 'channelsLast'

  const matMul = fn('BatchMatMul') // the kernel above: without transposes it is the shipped one
  const filterGrad: KernelFn = ({ inputs, backend, attrs }) => {
    const { x, dy } = inputs
    const filterShape = attrs.filterShape as number[]
    if (!isNHWC(attrs)) throw new Error(`Conv2DBackpropFilter on wasm supports NHWC only, got ${String(attrs.dataFormat)}`)
    const info = convInfo(x.shape, filterShape, attrs)
    const rows = info.filterHeight * info.filterWidth * info.inChannels
    const positions = info.batchSize * info.outHeight * info.outWidth
    if (x.dtype === 'float32' && dy.dtype === 'float32' && rows * positions <= IM2COL_MAX_VALUES) {
      // dW [kh*kw*ci, co] = im2col(x)^T [kh*kw*ci, b*oh*ow] . dy [b*oh*ow, co]: one matrix product (the
      // BatchMatMul above: the SIMD product for up to SIMD_PRODUCT_MAX_ROWS rows and 8k channels)
      const cols = backend.makeOutput([rows, positions], 'float32')
      if (simd != null) im2colTransposedSimd(simd, info, heapOffset(backend, x), heapOffset(backend, cols))
      else im2colTransposedInto(info, backend.typedArrayFromHeap(x), backend.typedArrayFromHeap(cols))
      const out = matMul({ inputs: { a: cols, b: { dataId: dy.dataId, shape: [positions, info.outChannels], dtype: 'float32' } }, backend, attrs: { transposeA: false, transposeB: false } })
      backend.disposeData(cols.dataId)
      return { dataId: out.dataId, shape: [...filterShape], dtype: 'float32' }
    }
    const tmp: TensorInfo[] = []
    const { top, bottom, left, right } = info.padInfo
    const xt = keep(tmp, transpose({ inputs: { x }, backend, attrs: { perm: [3, 1, 2, 0] } }))
    const xp = (top | bottom | left | right) !== 0
      ? keep(tmp, pad({ inputs: { x: xt }, backend, attrs: { paddings: [[0, 0], [top, bottom], [left, right], [0, 0]], constantValue: 0 } }))
      : xt
    const f = keep(tmp, transpose({ inputs: { x: dy }, backend, attrs: { perm: [1, 2, 0, 3] } }))
    // the forward stride becomes the dilation of this convolution
    let o = keep(tmp, conv2d({ inputs: { x: xp, filter: f }, backend, attrs: { strides: [1, 1], pad: 'valid', dataFormat: 'NHWC', dilations: [info.strideHeight, info.strideWidth] } }))
    // rows the forward pass never reached (input not a multiple of the stride) give extra outputs: drop them
    if (o.shape[1] !== filterShape[0] || o.shape[2] !== filterShape[1]) {
      o = keep(tmp, slice({ inputs: { x: o }, backend, attrs: { begin: [0, 0, 0, 0], size: [o.shape[0], filterShape[0], filterShape[1], o.shape[3]] } }))
    }
    const out = transpose({ inputs: { x: o }, backend, attrs: { perm: [1, 2, 0, 3] } })
    for (const t of tmp) backend.disposeData(t.dataId)
    return out
  }
  if (tf.getKernel('Conv2DBackpropFilter', 'wasm') == null) {
    tf.registerKernel({ kernelName: 'Conv2DBackpropFilter', backendName: 'wasm', kernelFunc: filterGrad as unknown as tf.KernelFunc })
  }

  const inputOrig = get('Conv2DBackpropInput')
  const inputOrigFn = inputOrig.kernelFunc as unknown as KernelFn
  replace(inputOrig, (args) => {
    const { inputs, backend, attrs } = args
    const { dy, filter } = inputs
    if (!isNHWC(attrs)) return inputOrigFn(args)
    const info = convInfo(attrs.inputShape, filter.shape, attrs)
    if (info.strideHeight !== 1 || info.strideWidth !== 1) return inputOrigFn(args)
    const [kh, kw] = filter.shape
    const { top, bottom, left, right } = info.padInfo
    const pt = kh - 1 - top
    const pl = kw - 1 - left
    // rows of dx = rows of the padded dy - kh + 1; pad the bottom/right to land exactly on inputShape
    const pb = attrs.inputShape[1] + kh - 1 - dy.shape[1] - pt
    const pr = attrs.inputShape[2] + kw - 1 - dy.shape[2] - pl
    if (pt < 0 || pl < 0 || pb < 0 || pr < 0) return inputOrigFn(args)
    const tmp: TensorInfo[] = []
    const dyp = keep(tmp, pad({ inputs: { x: dy }, backend, attrs: { paddings: [[0, 0], [pt, pb], [pl, pr], [0, 0]], constantValue: 0 } }))
    const fr = keep(tmp, reverse({ inputs: { x: filter }, backend, attrs: { dims: [0, 1] } }))
    const ft = keep(tmp, transpose({ inputs: { x: fr }, backend, attrs: { perm: [0, 1, 3, 2] } }))
    const out = conv2d({ inputs: { x: dyp, filter: ft }, backend, attrs: { strides: [1, 1], pad: 'valid', dataFormat: 'NHWC', dilations: [1, 1] } })
    for (const t of tmp) backend.disposeData(t.dataId)
    return out
  })
  // relu: the gradient of relu then max pool in one pass (MAX_POOL_RELU_GRAD)
  const poolGrad = (relu: boolean): KernelFn => ({ inputs, backend, attrs }) => {
    const { dy, input } = inputs
    const info = tf.backend_util.computePool2DInfo(input.shape as [number, number, number, number], attrs.filterSize, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode)
    const dx = backend.makeOutput(input.shape, 'float32')
    if (simd != null && tiles(info) && input.dtype === 'float32' && dy.dtype === 'float32') {
      simd.maxPoolGradTiled(heapOffset(backend, input), heapOffset(backend, dy), heapOffset(backend, dx), info.batchSize,
        info.inHeight, info.inWidth, info.inChannels, info.outHeight, info.outWidth, info.filterHeight, info.filterWidth, relu ? 1 : 0)
      return dx
    }
    // views after makeOutput: allocating may grow (and detach) the wasm heap
    maxPoolGradInto(info, backend.typedArrayFromHeap(input), backend.typedArrayFromHeap(dy), backend.typedArrayFromHeap(dx), relu)
    return dx
  }
  replace(get('MaxPoolGrad'), poolGrad(false))
  if (tf.getKernel(MAX_POOL_RELU_GRAD, 'wasm') == null) {
    tf.registerKernel({ kernelName: MAX_POOL_RELU_GRAD, backendName: 'wasm', kernelFunc: poolGrad(true) as unknown as tf.KernelFunc })
  }

  // bias gradients: a sum over the leading axes (dy over batch, height and width) is a sum of rows
  const sumFn = fn('Sum')
  replace(get('Sum'), (args) => {
    const { inputs: { x }, backend, attrs } = args
    if (simd == null || x.dtype !== 'float32') return sumFn(args)
    const axes = tf.util.parseAxisParam(attrs.axis, x.shape).sort((a, b) => a - b)
    const k = axes.length
    if (k === 0 || k >= x.shape.length || axes.some((a, i) => a !== i)) return sumFn(args)
    const rows = tf.util.sizeFromShape(x.shape.slice(0, k))
    const rest = x.shape.slice(k)
    const out = backend.makeOutput(attrs.keepDims === true ? [...x.shape.slice(0, k).map(() => 1), ...rest] : rest, 'float32')
    simd.sumRows(heapOffset(backend, x), heapOffset(backend, out), rows, tf.util.sizeFromShape(rest))
    return out
  })
  // bias adds: a row added to every row of a matrix (or of an NHWC tensor, per pixel)
  const addFn = fn('Add')
  replace(get('Add'), (args) => {
    const { inputs: { a, b }, backend } = args
    if (simd == null || a.dtype !== 'float32' || b.dtype !== 'float32') return addFn(args)
    const [big, row] = a.shape.length >= 2 && b.shape.length === 1 ? [a, b] : b.shape.length >= 2 && a.shape.length === 1 ? [b, a] : [null, null]
    if (big == null || row == null || big.shape[big.shape.length - 1] !== row.shape[0]) return addFn(args)
    const inner = row.shape[0]
    const out = backend.makeOutput(big.shape, 'float32')
    simd.addRow(heapOffset(backend, big), heapOffset(backend, row), heapOffset(backend, out), tf.util.sizeFromShape(big.shape) / inner, inner, -Infinity)
    return out
  })

  // Identity, and Cast to the dtype the tensor has, share the input's buffer (one more reference, as the
  // wasm Reshape does) instead of copying it: every relu gradient casts its step mask to float32.
  const share = (x: TensorInfo, backend: any): TensorInfo => {
    backend.incRef(x.dataId)
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype }
  }
  const identityFn = fn('Identity')
  replace(get('Identity'), (args) => args.inputs.x.dtype === 'string' ? identityFn(args) : share(args.inputs.x, args.backend))
  const castFn = fn('Cast')
  replace(get('Cast'), (args) => args.inputs.x.dtype === args.attrs.dtype && args.inputs.x.dtype !== 'string' ? share(args.inputs.x, args.backend) : castFn(args))
  patched = true
}

/**
 * dx of a max pool (NHWC): every dy goes to the first largest input of its window (row-major window
 * order, strict `>`: ties go to the earliest position, as the cpu backend and PyTorch do), summed
 * where windows overlap. A plain JS loop over the wasm heap: one pass over the windows, where the
 * shipped kernel scans every window once per input position.
 */
function maxPoolGradInto (info: tf.backend_util.Conv2DInfo, x: Float32Array, dy: Float32Array, dx: Float32Array, relu = false): void {
  const { batchSize, inHeight, inWidth, inChannels: ch, outHeight, outWidth, strideHeight, strideWidth, dilationHeight, dilationWidth, effectiveFilterHeight, effectiveFilterWidth } = info
  const top = info.padInfo.top
  const left = info.padInfo.left
  const rowStride = inWidth * ch
  const imageStride = inHeight * rowStride
  dx.fill(0)
  let o = 0
  for (let b = 0; b < batchSize; b++) {
    const base = b * imageStride
    for (let oy = 0; oy < outHeight; oy++) {
      const y0 = oy * strideHeight - top
      // the window's rows inside the input: y0 + wy for wy = wyLo, wyLo + dilation, ... < wyHi
      const wyLo = y0 >= 0 ? 0 : Math.ceil(-y0 / dilationHeight) * dilationHeight
      const wyHi = Math.min(effectiveFilterHeight, inHeight - y0)
      for (let ox = 0; ox < outWidth; ox++, o += ch) {
        const x0 = ox * strideWidth - left
        const wxLo = x0 >= 0 ? 0 : Math.ceil(-x0 / dilationWidth) * dilationWidth
        const wxHi = Math.min(effectiveFilterWidth, inWidth - x0)
        const corner = base + y0 * rowStride + x0 * ch
        for (let c = 0; c < ch; c++) {
          let best = -Infinity
          let at = -1
          for (let wy = wyLo; wy < wyHi; wy += dilationHeight) {
            const row = corner + wy * rowStride + c
            for (let wx = wxLo; wx < wxHi; wx += dilationWidth) {
              const p = row + wx * ch
              const v = x[p]
              if (v > best || at < 0) { best = v; at = p }
            }
          }
          if (at >= 0 && (!relu || best > 0)) dx[at] += dy[o + c]
        }
      }
    }
  }
}

/**
 * im2col, transposed: cols[(kh*kw_size + kw)*ci + c][(b*oh + y)*ow + x] = x[b, y*sh + kh*dh - top,
 * x*sw + kw*dw - left, c], 0 where that falls in the padding. Every element of `cols` is written.
 */
function im2colTransposedInto (info: tf.backend_util.Conv2DInfo, x: Float32Array, cols: Float32Array): void {
  const { batchSize, inHeight, inWidth, inChannels: ch, outHeight, outWidth, strideHeight, strideWidth, dilationHeight, dilationWidth, filterHeight, filterWidth } = info
  const top = info.padInfo.top
  const left = info.padInfo.left
  const step = strideWidth * ch
  let o = 0
  for (let kh = 0; kh < filterHeight; kh++) {
    for (let kw = 0; kw < filterWidth; kw++) {
      const offX = kw * dilationWidth - left
      const [lo, hi] = insideColumns(info, offX)
      for (let c = 0; c < ch; c++) {
        for (let b = 0; b < batchSize; b++) {
          for (let oy = 0; oy < outHeight; oy++) {
            const iy = oy * strideHeight + kh * dilationHeight - top
            if (iy < 0 || iy >= inHeight) {
              for (let ox = 0; ox < outWidth; ox++) cols[o + ox] = 0
              o += outWidth
              continue
            }
            let src = ((b * inHeight + iy) * inWidth + lo * strideWidth + offX) * ch + c
            for (let ox = 0; ox < lo; ox++) cols[o + ox] = 0
            for (let ox = lo; ox < hi; ox++, src += step) cols[o + ox] = x[src]
            for (let ox = hi; ox < outWidth; ox++) cols[o + ox] = 0
            o += outWidth
          }
        }
      }
    }
  }
}

/** Output columns [lo, hi) whose input column `ox * strideWidth + offX` is inside the image. */
function insideColumns (info: tf.backend_util.Conv2DInfo, offX: number): [number, number] {
  const { inWidth, outWidth, strideWidth } = info
  const lo = Math.min(outWidth, Math.max(0, Math.ceil(-offX / strideWidth)))
  return [lo, Math.max(lo, Math.min(outWidth, Math.floor((inWidth - 1 - offX) / strideWidth) + 1))]
}

/** The SIMD form of `im2colTransposedInto`: one call per row (kernel tap and channel). */
function im2colTransposedSimd (k: SimdKernels, info: tf.backend_util.Conv2DInfo, x: number, cols: number): void {
  const { batchSize, inHeight, inWidth, inChannels: ch, outHeight, outWidth, strideHeight, strideWidth, dilationHeight, dilationWidth, filterHeight, filterWidth } = info
  const rowBytes = batchSize * outHeight * outWidth * 4
  let o = cols
  for (let kh = 0; kh < filterHeight; kh++) {
    const offY = kh * dilationHeight - info.padInfo.top
    for (let kw = 0; kw < filterWidth; kw++) {
      const offX = kw * dilationWidth - info.padInfo.left
      const [lo, hi] = insideColumns(info, offX)
      for (let c = 0; c < ch; c++, o += rowBytes) {
        k.im2colRow(x, o, batchSize, inHeight, inWidth, ch, outHeight, outWidth, strideHeight, strideWidth, c, offY, offX, lo, hi)
      }
    }
  }
}

/**
 * Whether a product of `a` and `b` (either transposed) with `rows` x `cols` outputs is one `matMulN8`
 * takes over from XNNPACK: float32, no batch (or a batch of 1), cols a multiple of 8, at most
 * SIMD_PRODUCT_MAX_ROWS rows. XNNPACK packs the second operand on every call unless it is the same
 * tensor as before; in training it never is, and with few rows (a batch) the packing costs as much as
 * the product.
 */
function simdFits (a: TensorInfo, b: TensorInfo, rows: number, cols: number): boolean {
  const batch = (t: TensorInfo): number => t.shape.slice(0, -2).reduce((x, y) => x * y, 1)
  return simd != null && a.dtype === 'float32' && b.dtype === 'float32' && a.shape.length >= 2 && b.shape.length >= 2 &&
    batch(a) === 1 && batch(b) === 1 && cols % 8 === 0 && rows <= SIMD_PRODUCT_MAX_ROWS
}

/** The leading (batch) dimensions of a product's output: those of the operand of higher rank. */
function batchShape (a: TensorInfo, b: TensorInfo): number[] {
  return (a.shape.length >= b.shape.length ? a : b).shape.slice(0, -2)
}

/** Pools whose windows tile the input exactly, four channels at a time (`maxPoolGradTiled`). */
function tiles (info: tf.backend_util.Conv2DInfo): boolean {
  const { padInfo: p } = info
  return info.strideHeight === info.filterHeight && info.strideWidth === info.filterWidth &&
    info.dilationHeight === 1 && info.dilationWidth === 1 && (p.top | p.bottom | p.left | p.right) === 0 &&
    info.inChannels % 4 === 0 && info.outHeight * info.filterHeight <= info.inHeight && info.outWidth * info.filterWidth <= info.inWidth
}

function heapOffset (backend: any, t: TensorInfo): number {
  return backend.dataIdMap.get(t.dataId).memoryOffset as number
}

/**
 * Turns on the SIMD loops for the wasm backend now in use (call after `setBackend('wasm')`). Returns
 * null if they are on, else why not (the kernels then keep their plain forms).
 */
export async function enableWasmSimdKernels (): Promise<string | null> {
  const memory = (tf.backend() as any)?.wasm?.asm?.memory
  if (!isWasmMemory(memory)) return 'the wasm backend exposes no WebAssembly.Memory'
  if (simd != null && simdMemory === memory) return null // already on (useBackend may run again)
  simd = await loadSimdKernels(memory)
  simdMemory = memory
  return simd == null ? (simdFailure() ?? 'the SIMD module did not load') : null
}

/** Turns the SIMD loops off (`false`, tests compare both forms) or back on; returns the previous state. */
export async function setWasmSimdKernels (on: boolean): Promise<boolean> {
  const was = simd != null
  if (!on) simd = null
  else if (!was) await enableWasmSimdKernels()
  return was
}

function replace (orig: tf.KernelConfig, kernelFunc: KernelFn): void {
  tf.unregisterKernel(orig.kernelName, orig.backendName)
  tf.registerKernel({ ...orig, kernelFunc: kernelFunc as unknown as tf.KernelFunc })
}

function keep (list: TensorInfo[], t: TensorInfo): TensorInfo {
  list.push(t)
  return t
}

/**
 * Largest absolute difference between the wasm backend (with the kernels above, and with the SIMD loops
 * unless `simd` is false) and the cpu backend over matmuls with every transpose combination (and fused
 * ones with a bias and relu), the gradients of small convolutions with 'same'/'valid' padding and
 * strides 1 and 2 (with a bias and relu: 8 and 16 output channels), bias adds and sums over leading
 * axes, and max-pool gradients (overlapping windows, padding, tied maxima, tiled pools, relu before the
 * pool). Switches backends; restores the previous one.
 */
export async function wasmKernelSelfTest ({ simd: useSimd = true }: { simd?: boolean } = {}): Promise<number> {
  const prev = tf.getBackend()
  const kept = simd
  if (!useSimd) simd = null
  const cases: Array<() => tf.Tensor[]> = []
  const data = (shape: number[], salt: number): Float32Array => {
    const n = shape.reduce((a, b) => a * b, 1)
    return Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898 + salt * 78.233))
  }
  // [m, k] . [k, n]: n = 3 (XNNPACK; with m = 8 and a transposed, flipped to the SIMD product), n = 16
  // and 8 (the SIMD product; 6 rows: not a multiple of 4)
  for (const [m, k, n] of [[5, 7, 3], [8, 7, 3], [6, 9, 16], [8, 5, 8]]) {
    for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]]) {
      cases.push(() => {
        const a = tf.tensor(data(ta ? [k, m] : [m, k], 1), ta ? [k, m] : [m, k])
        const b = tf.tensor(data(tb ? [n, k] : [k, n], 2), tb ? [n, k] : [k, n])
        const g = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.square(tf.matMul(x, y, ta, tb))))([a, b])
        return [tf.matMul(a, b, ta, tb), ...g]
      })
    }
  }
  for (const pad of ['same', 'valid'] as const) {
    for (const stride of [1, 2]) {
      for (const [h, k] of [[9, 3], [8, 5], [7, 2]]) {
        cases.push(() => {
          const x = tf.tensor(data([2, h, h + 1, 3], 3), [2, h, h + 1, 3]) as tf.Tensor4D
          const f = tf.tensor(data([k, k, 3, 4], 4), [k, k, 3, 4]) as tf.Tensor4D
          return tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.square(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, stride, pad))))([x, f])
        })
      }
    }
  }
  // fused products with a bias, with and without relu (16 columns: the SIMD product, then the bias row)
  for (const activation of ['relu', 'linear'] as const) {
    cases.push(() => {
      const a = tf.tensor(data([6, 9], 14), [6, 9]) as tf.Tensor2D
      const b = tf.tensor(data([9, 16], 15), [9, 16]) as tf.Tensor2D
      return [tf.fused.matMul({ a, b, bias: tf.tensor(data([16], 16), [16]), activation })]
    })
  }
  // filter gradients with 8 or 16 output channels (the SIMD product), a row count not a multiple of 4
  for (const [ci, co, k, pad, stride] of [[1, 8, 5, 'same', 1], [3, 16, 3, 'valid', 2], [2, 8, 2, 'same', 1]] as const) {
    cases.push(() => {
      const x = tf.tensor(data([3, 9, 8, ci], 7), [3, 9, 8, ci]) as tf.Tensor4D
      const f = tf.tensor(data([k, k, ci, co], 8), [k, k, ci, co]) as tf.Tensor4D
      const b = tf.tensor(data([co], 9), [co])
      return tf.grads((a: tf.Tensor, w: tf.Tensor, c: tf.Tensor) => tf.sum(tf.square(tf.relu(tf.add(tf.conv2d(a as tf.Tensor4D, w as tf.Tensor4D, stride, pad), c)))))([x, f, b])
    })
  }
  // bias adds and sums over leading axes (row lengths with and without a remainder of 4), either order
  for (const shape of [[3, 5, 8], [4, 7], [2, 3, 2, 6]]) {
    cases.push(() => {
      const x = tf.tensor(data(shape, 10), shape)
      const row = tf.tensor(data([shape.at(-1)!], 11), [shape.at(-1)!])
      return [tf.add(x, row), tf.add(row, x), tf.sum(x, 0), tf.sum(x, [0, 1], true), tf.sum(x, [1, 0])]
    })
  }
  // max pools: non-overlapping and overlapping windows, 'same' padding, and ties (relu zeros, rounding);
  // 8 channels for the tiled SIMD loop (with a row and a column no window covers)
  for (const [size, stride, pad, ch] of [[2, 2, 'valid', 3], [3, 2, 'same', 3], [3, 1, 'valid', 3], [2, 2, 'same', 3], [2, 2, 'valid', 8], [3, 3, 'valid', 4]] as const) {
    cases.push(() => {
      const x = tf.tensor(data([2, 7, 6, ch], 5).map(v => Math.max(0, Math.round(v * 4) / 4)), [2, 7, 6, ch]) as tf.Tensor4D
      return tf.grads((a: tf.Tensor) => {
        const p = tf.maxPool(a as tf.Tensor4D, size, stride, pad)
        return tf.sum(tf.mul(p, tf.tensor(data(p.shape, 6), p.shape))) // a distinct dy per window
      })([x])
    })
  }
  // relu then max pool, back-propagated in one kernel on wasm; MaxPoolGrad times step(x) on cpu
  for (const [size, ch] of [[2, 8], [3, 3]] as const) {
    cases.push(() => {
      const x = tf.tensor(data([2, 7, 6, ch], 12).map(v => Math.max(0, Math.round(v * 4) / 4)), [2, 7, 6, ch]) as tf.Tensor4D
      const y = tf.maxPool(x, size, size, 'valid')
      const dy = tf.tensor(data(y.shape, 13), y.shape)
      const attrs = { filterSize: size, strides: size, pad: 'valid' }
      return [tf.getKernel(MAX_POOL_RELU_GRAD, tf.getBackend()) != null
        ? tf.engine().runKernel(MAX_POOL_RELU_GRAD, { dy, input: x, output: y }, attrs) as tf.Tensor
        : tf.mul(tf.engine().runKernel('MaxPoolGrad', { dy, input: x, output: y }, attrs) as tf.Tensor, tf.step(x))]
    })
  }
  const run = async (backend: string): Promise<Float32Array[]> => {
    await tf.setBackend(backend)
    const out: Float32Array[] = []
    for (const c of cases) {
      const ts = c()
      for (const t of ts) out.push(await t.data() as Float32Array)
      tf.dispose(ts)
    }
    return out
  }
  try {
    const cpu = await run('cpu')
    const wasm = await run('wasm')
    let worst = 0
    for (let i = 0; i < cpu.length; i++) {
      if (cpu[i].length !== wasm[i].length) return Infinity
      for (let j = 0; j < cpu[i].length; j++) worst = Math.max(worst, Math.abs(cpu[i][j] - wasm[i][j]) / Math.max(1, Math.abs(cpu[i][j])))
    }
    return worst
  } finally {
    simd = kept
    await tf.setBackend(prev)
  }
}
