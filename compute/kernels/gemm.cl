// C = A * B for row-major float matrices of any shape: A is m x k, B is k x n.
// Each work-group computes a TILE x TILE block of C from TILE x TILE tiles of A and B
// staged in local memory; each work-item computes WPT consecutive columns of its row
// (register blocking). Launch with a local size of (TILE / WPT, TILE) and a global size
// of (ceil(n / TILE) * TILE / WPT, ceil(m / TILE) * TILE).
#ifndef TILE
#define TILE 32
#endif
#ifndef WPT
#define WPT 8
#endif
#define RTS (TILE / WPT)

__kernel void gemm(const int m, const int n, const int k, __global const float* a,
                   __global const float* b, __global float* c) {
  const int local_col = get_local_id(0); // 0 .. RTS-1
  const int local_row = get_local_id(1); // 0 .. TILE-1
  const int row = get_group_id(1) * TILE + local_row;
  const int col0 = get_group_id(0) * TILE + local_col;
  __local float a_tile[TILE][TILE];
  __local float b_tile[TILE][TILE];
  float acc[WPT];
  for (int w = 0; w < WPT; ++w)
    acc[w] = 0.0f;
  const int tiles = (k + TILE - 1) / TILE;
  for (int t = 0; t < tiles; ++t) {
    for (int w = 0; w < WPT; ++w) {
      const int tc = local_col + w * RTS; // column within the tile
      const int a_col = t * TILE + tc;
      const int b_row = t * TILE + local_row;
      const int b_col = get_group_id(0) * TILE + tc;
      a_tile[local_row][tc] = (row < m && a_col < k) ? a[row * k + a_col] : 0.0f;
      b_tile[local_row][tc] = (b_row < k && b_col < n) ? b[b_row * n + b_col] : 0.0f;
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int p = 0; p < TILE; ++p) {
      const float x = a_tile[local_row][p];
      for (int w = 0; w < WPT; ++w)
        acc[w] += x * b_tile[p][local_col + w * RTS];
    }
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  for (int w = 0; w < WPT; ++w) {
    const int col = col0 + w * RTS;
    if (row < m && col < n)
      c[row * n + col] = acc[w];
  }
}
