// The GEMM kernel of browser workers: WebAssembly with 128-bit SIMD, built by Debian's
// emscripten (compute/kernels/meson.build) into nexus_kernels.wasm, which the browser
// worker's Web Worker runs (apps/web/). Same contract as sgemm.hpp's sgemm, one thread.
//
// Eigen 3.4 has no WebAssembly packets, so its product runs scalar there (~2 GFLOP/s in
// Chromium); this is the classic blocked GEMM instead (Goto's: panels of B and A packed
// into contiguous buffers, a register-blocked micro-kernel over them). The micro-kernel
// keeps a 4 x 8 tile of C in eight 4-lane registers; per step of k it loads the four A
// values of its rows as one vector, spreads each over a register with a lane shuffle,
// and loads two vectors of B. Measured in Chromium (docs/BENCHMARKS.md): 27-28 GFLOP/s
// against 22-23 for 4 x 12 and 6 x 8 tiles, whose twelve accumulators left V8 too few of
// x86-64's 16 SIMD registers and spilled.
//
// Rounding: every element of C is one ascending sum over k (per KC block, then added to
// C), the same order for every element, so a result does not depend on where the tile
// boundaries fall. Validators accept any honest summation order anyway (ARCHITECTURE.md).
#include <wasm_simd128.h>

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <vector>

namespace {

constexpr std::size_t mr = 4;    // rows of a micro-tile (one 4-lane vector of A)
constexpr std::size_t nr = 8;    // columns of a micro-tile (two 4-lane vectors)
constexpr std::size_t kc = 256;  // depth of a packed block: A's panel stays in L1
constexpr std::size_t mc = 128;  // rows of A packed at once (L2)
constexpr std::size_t nc = 2048; // columns of B packed at once

// op(X)[i][j] of a row-major matrix with row stride ld, transposed or not.
inline float at(const float* x, std::size_t ld, bool trans, std::size_t i, std::size_t j) {
  return trans ? x[j * ld + i] : x[i * ld + j];
}

// op(B)[p0 .. p0+kb) x [j0 .. j0+nb) as panels of nr columns, each kb x nr row by row;
// columns past nb are zero.
void pack_b(const float* b, std::size_t ldb, bool trans, std::size_t p0, std::size_t kb,
            std::size_t j0, std::size_t nb, float* out) {
  for (std::size_t j = 0; j < nb; j += nr) {
    std::size_t w = std::min(nr, nb - j);
    for (std::size_t p = 0; p < kb; ++p) {
      if (!trans && w == nr) {
        const float* src = b + (p0 + p) * ldb + j0 + j;
        wasm_v128_store(out, wasm_v128_load(src));
        wasm_v128_store(out + 4, wasm_v128_load(src + 4));
      } else {
        for (std::size_t c = 0; c < nr; ++c)
          out[c] = c < w ? at(b, ldb, trans, p0 + p, j0 + j + c) : 0.0f;
      }
      out += nr;
    }
  }
}

// op(A)[i0 .. i0+mb) x [p0 .. p0+kb) as panels of mr rows, each stored column by
// column (mr values per step of k); rows past mb are zero.
void pack_a(const float* a, std::size_t lda, bool trans, std::size_t i0, std::size_t mb,
            std::size_t p0, std::size_t kb, float* out) {
  for (std::size_t i = 0; i < mb; i += mr) {
    std::size_t h = std::min(mr, mb - i);
    for (std::size_t p = 0; p < kb; ++p) {
      for (std::size_t r = 0; r < mr; ++r)
        out[r] = r < h ? at(a, lda, trans, i0 + i + r, p0 + p) : 0.0f;
      out += mr;
    }
  }
}

// tile = A panel (kb x mr) times B panel (kb x nr), into a 4 x 8 row-major buffer.
void micro_kernel(std::size_t kb, const float* ap, const float* bp, float* tile) {
  v128_t c00 = wasm_f32x4_splat(0), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00,
         c30 = c00, c31 = c00;
  for (std::size_t p = 0; p < kb; ++p) {
    v128_t b0 = wasm_v128_load(bp);
    v128_t b1 = wasm_v128_load(bp + 4);
    v128_t a = wasm_v128_load(ap);
    v128_t x = wasm_i32x4_shuffle(a, a, 0, 0, 0, 0);
    c00 = wasm_f32x4_add(c00, wasm_f32x4_mul(x, b0));
    c01 = wasm_f32x4_add(c01, wasm_f32x4_mul(x, b1));
    x = wasm_i32x4_shuffle(a, a, 1, 1, 1, 1);
    c10 = wasm_f32x4_add(c10, wasm_f32x4_mul(x, b0));
    c11 = wasm_f32x4_add(c11, wasm_f32x4_mul(x, b1));
    x = wasm_i32x4_shuffle(a, a, 2, 2, 2, 2);
    c20 = wasm_f32x4_add(c20, wasm_f32x4_mul(x, b0));
    c21 = wasm_f32x4_add(c21, wasm_f32x4_mul(x, b1));
    x = wasm_i32x4_shuffle(a, a, 3, 3, 3, 3);
    c30 = wasm_f32x4_add(c30, wasm_f32x4_mul(x, b0));
    c31 = wasm_f32x4_add(c31, wasm_f32x4_mul(x, b1));
    ap += mr;
    bp += nr;
  }
  v128_t rows[] = {c00, c01, c10, c11, c20, c21, c30, c31};
  for (std::size_t i = 0; i < 2 * mr; ++i)
    wasm_v128_store(tile + 4 * i, rows[i]);
}

} // namespace

extern "C" __attribute__((visibility("default"))) void
nexus_sgemm_wasm(bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k,
                 float alpha, const float* a, std::size_t lda, const float* b,
                 std::size_t ldb, float beta, float* c, std::size_t ldc) {
  if (m == 0 || n == 0)
    return;
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t j = 0; j < n; ++j)
      c[i * ldc + j] = beta == 0.0f ? 0.0f : beta * c[i * ldc + j];
  if (k == 0 || alpha == 0.0f)
    return;
  auto round_up = [](std::size_t x, std::size_t to) { return (x + to - 1) / to * to; };
  std::vector<float> bpack(kc * round_up(std::min(n, nc), nr));
  std::vector<float> apack(kc * round_up(std::min(m, mc), mr));
  alignas(16) float tile[mr * nr];
  for (std::size_t j0 = 0; j0 < n; j0 += nc) {
    std::size_t nb = std::min(nc, n - j0);
    for (std::size_t p0 = 0; p0 < k; p0 += kc) {
      std::size_t kb = std::min(kc, k - p0);
      pack_b(b, ldb, trans_b, p0, kb, j0, nb, bpack.data());
      for (std::size_t i0 = 0; i0 < m; i0 += mc) {
        std::size_t mb = std::min(mc, m - i0);
        pack_a(a, lda, trans_a, i0, mb, p0, kb, apack.data());
        for (std::size_t i = 0; i < mb; i += mr) {
          std::size_t h = std::min(mr, mb - i);
          for (std::size_t j = 0; j < nb; j += nr) {
            std::size_t w = std::min(nr, nb - j);
            micro_kernel(kb, apack.data() + i * kb, bpack.data() + j * kb, tile);
            for (std::size_t r = 0; r < h; ++r) {
              float* row = c + (i0 + i + r) * ldc + j0 + j;
              for (std::size_t col = 0; col < w; ++col)
                row[col] += alpha * tile[r * nr + col];
            }
          }
        }
      }
    }
  }
}

// The browser's way to memory: buffers it fills and reads through the module's memory.
extern "C" __attribute__((visibility("default"))) float* nexus_alloc(std::size_t floats) {
  return static_cast<float*>(std::malloc(floats * sizeof(float)));
}

extern "C" __attribute__((visibility("default"))) void nexus_free(float* p) {
  std::free(p);
}
