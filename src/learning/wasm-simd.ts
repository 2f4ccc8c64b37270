/**
 * Five small WebAssembly SIMD loops that the tfjs wasm backend lacks or runs slowly, working in place
 * on that backend's own heap (the module imports its `WebAssembly.Memory`, so nothing is copied):
 *
 * - `maxPoolGradTiled`: dx of a max pool whose windows tile the input (stride = window, no padding,
 *   no dilation), four channels at a time; each dy goes to the first largest input of its window
 *   (with `relu`, only if that input is > 0: the gradient of a relu before the pool as well).
 * - `im2colRow`: one row (one kernel tap and channel) of the transposed im2col of an NHWC input, for
 *   the filter gradient of a convolution as one matrix product.
 * - `sumRows`: the sum of the rows of a [rows, inner] matrix (a bias gradient: dy summed over
 *   batch, height and width).
 * - `addRow`: a [rows, inner] matrix plus one row (a bias add), optionally through relu.
 * - `matMulN8`: [K, P] . [P, N] for N a multiple of 8 (the filter gradient's product, and products
 *   of a batch's rows): XNNPACK takes the second operand as weights and packs it on every call, which
 *   for the CNN's dy (25,088 x 8) took longer than the product itself.
 *
 * The text below is assembled by wabt (`wabt` package) when the wasm backend starts. Callers
 * (`wasm-kernels.ts`) check shapes and dtypes; these loops trust their arguments. Byte addresses.
 */

// The WebAssembly namespace is typed by the DOM lib, which this project does not load: what is used here.
interface WasmMemory { readonly buffer: ArrayBuffer }
interface WasmModule { readonly compiled?: never }
declare const WebAssembly: {
  Memory: abstract new (...args: never[]) => WasmMemory
  compile: (bytes: Uint8Array) => Promise<WasmModule>
  instantiate: (module: WasmModule, imports: Record<string, Record<string, unknown>>) => Promise<{ exports: Record<string, unknown> }>
}

/** Whether `x` is a `WebAssembly.Memory` (a heap the loops can work on). */
export function isWasmMemory (x: unknown): x is WasmMemory {
  return x instanceof WebAssembly.Memory
}

export interface SimdKernels {
  maxPoolGradTiled: (x: number, dy: number, dx: number, batch: number, inH: number, inW: number, ch: number, outH: number, outW: number, winH: number, winW: number, relu: number) => void
  im2colRow: (x: number, cols: number, batch: number, inH: number, inW: number, ch: number, outH: number, outW: number, strideH: number, strideW: number, c: number, offY: number, offX: number, lo: number, hi: number) => void
  sumRows: (src: number, dst: number, rows: number, inner: number) => void
  addRow: (a: number, row: number, out: number, rows: number, inner: number, floor: number) => void
  matMulN8: (a: number, b: number, out: number, k: number, p: number, n: number) => void
}

// WAT builders: the loops below are written with these so that each shape of loop is spelled once.
const get = (v: string): string => `(local.get $${v})`
const set = (v: string, e: string): string => `(local.set $${v} ${e})`
const add = (a: string, b: string): string => `(i32.add ${a} ${b})`
const mul = (a: string, b: string): string => `(i32.mul ${a} ${b})`
const i32 = (n: number): string => `(i32.const ${n})`
const bytes = (e: string): string => `(i32.shl ${e} (i32.const 2))`

/** `for (v = from; v < to; v += step) body`, unsigned. */
function range (v: string, to: string, body: string, from = i32(0), step = i32(1)): string {
  return `${set(v, from)}
    (block $${v}Done (loop $${v}Loop
      (br_if $${v}Done (i32.ge_u ${get(v)} ${to}))
      ${body}
      ${set(v, add(get(v), step))}
      (br $${v}Loop)))`
}

/** Stores `count` float zeros at the address in local `o`, advancing it. */
function zeros (o: string, count: string, end: string): string {
  return `${set(end, add(get(o), bytes(count)))}
    (block $${o}${end}Done (loop $${o}${end}Loop
      (br_if $${o}${end}Done (i32.ge_u ${get(o)} ${get(end)}))
      (f32.store ${get(o)} (f32.const 0))
      ${set(o, add(get(o), i32(4)))}
      (br $${o}${end}Loop)))`
}

/** Over the byte offsets `i` of one row of `nBytes`: `vec(i)` four floats at a time, then `one(i)` for the rest. */
function rowOfFloats (nBytes: string, vec: (i: string) => string, one: (i: string) => string): string {
  return `${set('n4', `(i32.and ${nBytes} (i32.const -16))`)}
    ${range('i', get('n4'), vec(get('i')), i32(0), i32(16))}
    ${range('i', nBytes, one(get('i')), get('i'), i32(4))}`
}

/** One step of the 4 x 8 product block: row `r` of a (scalar, splat) times the 8 floats of b. */
const accumulate = (r: number): string => `${set('s', `(f32x4.splat (f32.load ${get(`pa${r}`)}))`)}
          ${set(`acc${2 * r}`, `(f32x4.add ${get(`acc${2 * r}`)} (f32x4.mul ${get('s')} ${get('bv0')}))`)}
          ${set(`acc${2 * r + 1}`, `(f32x4.add ${get(`acc${2 * r + 1}`)} (f32x4.mul ${get('s')} ${get('bv1')}))`)}
          ${set(`pa${r}`, add(get(`pa${r}`), i32(4)))}`
const storeRow = (r: number): string => `(v128.store ${add(get('o'), mul(i32(r), get('outRow')))} ${get(`acc${2 * r}`)})
        (v128.store offset=16 ${add(get('o'), mul(i32(r), get('outRow')))} ${get(`acc${2 * r + 1}`)})`

/** out[k .. k+rows, n .. n+8] of the product, rows = 1 or 4. */
function productBlock (rows: number): string {
  const rs = Array.from({ length: rows }, (_, r) => r)
  return `${rs.map(r => `${set(`acc${2 * r}`, '(v128.const i32x4 0 0 0 0)')} ${set(`acc${2 * r + 1}`, '(v128.const i32x4 0 0 0 0)')}`).join('\n        ')}
        ${rs.map(r => set(`pa${r}`, add(get('a'), mul(add(get('k'), i32(r)), get('rowBytes'))))).join('\n        ')}
        ${set('pb', add(get('b'), bytes(get('n'))))}
        ${range('p', get('P'), `${set('bv0', `(v128.load ${get('pb')})`)}
          ${set('bv1', `(v128.load offset=16 ${get('pb')})`)}
          ${rs.map(accumulate).join('\n          ')}
          ${set('pb', add(get('pb'), get('bStride')))}`)}
        ${set('o', add(get('out'), bytes(add(mul(get('k'), get('N')), get('n')))))}
        ${rs.map(storeRow).join('\n        ')}`
}

/** Byte offset of element (wy, wx) of the pool window at `corner`, channel block `c`. */
const windowAt = `${add(add(get('corner'), get('c')), add(mul(get('wy'), get('rowBytes')), mul(get('wx'), get('chBytes'))))}`

const WAT = `(module
  (import "env" "memory" (memory 1))

  ;; dx = 0 over the whole input, then per window and 4 channels: the first position holding the
  ;; window's maximum (strict >, so ties keep the earliest; NaN never wins) gets dy (relu: if > 0).
  (func (export "maxPoolGradTiled") (param $x i32) (param $dy i32) (param $dx i32) (param $batch i32)
      (param $inH i32) (param $inW i32) (param $ch i32) (param $outH i32) (param $outW i32) (param $winH i32) (param $winW i32) (param $relu i32)
    (local $b i32) (local $oy i32) (local $ox i32) (local $c i32) (local $wy i32) (local $wx i32) (local $k i32)
    (local $corner i32) (local $p i32) (local $g i32) (local $rowBytes i32) (local $chBytes i32)
    (local $best v128) (local $at v128) (local $v v128) (local $gt v128) (local $grad v128)
    (memory.fill ${get('dx')} (i32.const 0) ${bytes(mul(mul(get('batch'), get('inH')), mul(get('inW'), get('ch'))))})
    ${set('chBytes', bytes(get('ch')))}
    ${set('rowBytes', mul(get('inW'), get('chBytes')))}
    ${set('g', get('dy'))}
    ${range('b', get('batch'), range('oy', get('outH'), range('ox', get('outW'), `
      ;; byte offset of the window's top-left element, channel 0
      ${set('corner', add(mul(add(mul(get('b'), get('inH')), mul(get('oy'), get('winH'))), get('rowBytes')), mul(mul(get('ox'), get('winW')), get('chBytes'))))}
      ${range('c', get('chBytes'), `
        ${set('best', `(v128.load ${add(get('x'), add(get('corner'), get('c')))})`)}
        ${set('at', '(i32x4.splat (i32.const 0))')}
        ${set('k', i32(0))}
        ${range('wy', get('winH'), range('wx', get('winW'), `
          ${set('v', `(v128.load ${add(get('x'), windowAt)})`)}
          ${set('gt', `(f32x4.gt ${get('v')} ${get('best')})`)}
          ${set('best', `(v128.bitselect ${get('v')} ${get('best')} ${get('gt')})`)}
          ${set('at', `(v128.bitselect (i32x4.splat ${get('k')}) ${get('at')} ${get('gt')})`)}
          ${set('k', add(get('k'), i32(1)))}`))}
        ${set('grad', `(v128.load ${add(get('g'), get('c'))})`)}
        ;; relu before the pool: only a maximum > 0 passes its gradient on
        (if ${get('relu')} (then ${set('grad', `(v128.and ${get('grad')} (f32x4.gt ${get('best')} (v128.const f32x4 0 0 0 0)))`)}))
        ${set('k', i32(0))}
        ${range('wy', get('winH'), range('wx', get('winW'), `
          (v128.store ${add(get('dx'), windowAt)} (v128.and ${get('grad')} (i32x4.eq ${get('at')} (i32x4.splat ${get('k')}))))
          ${set('k', add(get('k'), i32(1)))}`))}`, i32(0), i32(16))}
      ${set('g', add(get('g'), get('chBytes')))}`)))})

  ;; cols[(b*outH + oy)*outW + ox] = x[b, oy*strideH + offY, ox*strideW + offX, c], 0 outside the
  ;; image; only output columns [lo, hi) can fall inside it (the caller works them out).
  (func (export "im2colRow") (param $x i32) (param $cols i32) (param $batch i32) (param $inH i32) (param $inW i32)
      (param $ch i32) (param $outH i32) (param $outW i32) (param $strideH i32) (param $strideW i32) (param $c i32)
      (param $offY i32) (param $offX i32) (param $lo i32) (param $hi i32)
    (local $b i32) (local $oy i32) (local $iy i32) (local $o i32) (local $end i32) (local $src i32) (local $step i32)
    ${set('o', get('cols'))}
    ${set('step', bytes(mul(get('strideW'), get('ch'))))}
    ${range('b', get('batch'), range('oy', get('outH'), `
      ${set('iy', add(mul(get('oy'), get('strideH')), get('offY')))}
      (if (i32.or (i32.lt_s ${get('iy')} (i32.const 0)) (i32.ge_s ${get('iy')} ${get('inH')}))
        (then ${zeros('o', get('outW'), 'end')})
        (else
          ${zeros('o', get('lo'), 'end')}
          ${set('src', add(get('x'), bytes(add(mul(add(mul(add(mul(get('b'), get('inH')), get('iy')), get('inW')), add(mul(get('lo'), get('strideW')), get('offX'))), get('ch')), get('c')))))}
          ${set('end', add(get('o'), bytes(`(i32.sub ${get('hi')} ${get('lo')})`)))}
          (if (i32.eq ${get('step')} (i32.const 4))
            (then
              ;; contiguous run: four at a time, then the rest
              (block $vDone (loop $vLoop
                (br_if $vDone (i32.gt_u ${add(get('o'), i32(16))} ${get('end')}))
                (v128.store ${get('o')} (v128.load ${get('src')}))
                ${set('o', add(get('o'), i32(16)))}
                ${set('src', add(get('src'), i32(16)))}
                (br $vLoop)))))
          (block $cDone (loop $cLoop
            (br_if $cDone (i32.ge_u ${get('o')} ${get('end')}))
            (f32.store ${get('o')} (f32.load ${get('src')}))
            ${set('o', add(get('o'), i32(4)))}
            ${set('src', add(get('src'), get('step')))}
            (br $cLoop)))
          ${zeros('o', `(i32.sub ${get('outW')} ${get('hi')})`, 'end')}))`))})

  ;; out[k, n] = sum over p of a[k*P + p] * b[p*N + n] (out [K, N] = a [K, P] . b [P, N]), N a multiple
  ;; of 8: blocks of 4 rows x 8 columns in registers, then the last K % 4 rows one at a time; p in order
  (func (export "matMulN8") (param $a i32) (param $b i32) (param $out i32) (param $K i32) (param $P i32) (param $N i32)
    (local $k i32) (local $n i32) (local $p i32) (local $o i32) (local $pb i32) (local $rowBytes i32) (local $bStride i32) (local $outRow i32)
    (local $pa0 i32) (local $pa1 i32) (local $pa2 i32) (local $pa3 i32)
    (local $acc0 v128) (local $acc1 v128) (local $acc2 v128) (local $acc3 v128) (local $acc4 v128) (local $acc5 v128) (local $acc6 v128) (local $acc7 v128)
    (local $bv0 v128) (local $bv1 v128) (local $s v128)
    ${set('rowBytes', bytes(get('P')))}
    ${set('bStride', bytes(get('N')))}
    ${set('outRow', get('bStride'))}
    ${range('k', `(i32.and ${get('K')} (i32.const -4))`, range('n', get('N'), productBlock(4), i32(0), i32(8)), i32(0), i32(4))}
    ${range('k', get('K'), range('n', get('N'), productBlock(1), i32(0), i32(8)), get('k'))})

  ;; dst[i] = sum over r of src[r*inner + i], added row after row (float32)
  (func (export "sumRows") (param $src i32) (param $dst i32) (param $rows i32) (param $inner i32)
    (local $r i32) (local $i i32) (local $n i32) (local $n4 i32) (local $s i32)
    ${set('n', bytes(get('inner')))}
    (memory.fill ${get('dst')} (i32.const 0) ${get('n')})
    ${set('s', get('src'))}
    ${range('r', get('rows'), `${rowOfFloats(get('n'),
      i => `(v128.store ${add(get('dst'), i)} (f32x4.add (v128.load ${add(get('dst'), i)}) (v128.load ${add(get('s'), i)})))`,
      i => `(f32.store ${add(get('dst'), i)} (f32.add (f32.load ${add(get('dst'), i)}) (f32.load ${add(get('s'), i)})))`)}
      ${set('s', add(get('s'), get('n')))}`)})

  ;; out[r*inner + i] = max(a[r*inner + i] + row[i], floor): floor -Infinity for a bias add, 0 for one
  ;; followed by relu (out may be a)
  (func (export "addRow") (param $a i32) (param $row i32) (param $out i32) (param $rows i32) (param $inner i32) (param $floor f32)
    (local $r i32) (local $i i32) (local $n i32) (local $n4 i32) (local $off i32) (local $floors v128)
    ${set('n', bytes(get('inner')))}
    ${set('floors', `(f32x4.splat ${get('floor')})`)}
    ${set('off', i32(0))}
    ${range('r', get('rows'), `${rowOfFloats(get('n'),
      i => `(v128.store ${add(get('out'), add(get('off'), i))} (f32x4.max (f32x4.add (v128.load ${add(get('a'), add(get('off'), i))}) (v128.load ${add(get('row'), i)})) ${get('floors')}))`,
      i => `(f32.store ${add(get('out'), add(get('off'), i))} (f32.max (f32.add (f32.load ${add(get('a'), add(get('off'), i))}) (f32.load ${add(get('row'), i)})) ${get('floor')}))`)}
      ${set('off', add(get('off'), get('n')))}`)})
)`

let compiled: Promise<WasmModule | null> | undefined
let failure: string | undefined

/** Assembles the module once per thread; null (and `simdFailure()` says why) where it cannot. */
async function compile (): Promise<WasmModule | null> {
  compiled ??= (async () => {
    try {
      // imported here, not at the top: threads on other backends never load the assembler
      const { default: wabtInit } = await import('wabt')
      const wabt = await wabtInit()
      const parsed = wabt.parseWat('fedswarm-kernels.wat', WAT, { simd: true, bulk_memory: true })
      try {
        parsed.validate()
        const { buffer } = parsed.toBinary({})
        return await WebAssembly.compile(buffer)
      } finally {
        parsed.destroy()
      }
    } catch (err) {
      failure = (err as Error).message.split('\n')[0]
      return null
    }
  })()
  return await compiled
}

/** The loops above on `memory` (the tfjs wasm backend's heap), or null where SIMD is unavailable. */
export async function loadSimdKernels (memory: WasmMemory): Promise<SimdKernels | null> {
  const mod = await compile()
  if (mod == null) return null
  const instance = await WebAssembly.instantiate(mod, { env: { memory } })
  return instance.exports as unknown as SimdKernels
}

/** Why `loadSimdKernels` returned null, if it did. */
export function simdFailure (): string | undefined {
  return failure
}
