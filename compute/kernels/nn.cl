// The MLP's elementwise and reduction kernels, and a GEMM with transposes, for the
// OpenCL backend (compute/opencl/backend.hpp). Row-major matrices throughout.

// C (m x n) = alpha * op(A) * op(B) + beta * C; op(A) is m x k. One work-item per element
// of C: the products of backward passes are small and skinny, where tiling buys little.
__kernel void gemm_t(const int m, const int n, const int k, const int trans_a,
                     const int trans_b, const float alpha, __global const float* a,
                     const int lda, __global const float* b, const int ldb, const float beta,
                     __global float* c, const int ldc) {
  const int j = get_global_id(0);
  const int i = get_global_id(1);
  if (i >= m || j >= n)
    return;
  float acc = 0.0f;
  for (int p = 0; p < k; ++p) {
    const float x = trans_a ? a[p * lda + i] : a[i * lda + p];
    const float y = trans_b ? b[j * ldb + p] : b[p * ldb + j];
    acc = fma(x, y, acc);
  }
  const float old = beta == 0.0f ? 0.0f : beta * c[i * ldc + j];
  c[i * ldc + j] = alpha * acc + old;
}

// z (m x n) += bias (n); h = relu ? max(z, 0) : z.
__kernel void bias_activation(const int m, const int n, __global float* z,
                              __global const float* bias, __global float* h, const int relu) {
  const int j = get_global_id(0);
  const int i = get_global_id(1);
  if (i >= m || j >= n)
    return;
  const float v = z[i * n + j] + bias[j];
  z[i * n + j] = v;
  h[i * n + j] = relu ? fmax(v, 0.0f) : v;
}

// delta (m x n) *= (z > 0): back through a ReLU.
__kernel void relu_backward(const int m, const int n, __global float* delta,
                            __global const float* z) {
  const int j = get_global_id(0);
  const int i = get_global_id(1);
  if (i >= m || j >= n)
    return;
  if (!(z[i * n + j] > 0.0f))
    delta[i * n + j] = 0.0f;
}

// Softmax cross-entropy per row of logits (m x c), in place: logits become
// scale * (softmax - onehot(label)); loss[i] and correct[i] are the row's loss and 1 if
// its largest logit is its label's. One work-item per row.
__kernel void softmax_xent(const int m, const int c, __global float* logits,
                           __global const int* labels, const float scale,
                           __global float* loss, __global float* correct) {
  const int i = get_global_id(0);
  if (i >= m)
    return;
  __global float* row = logits + i * c;
  int best = 0;
  float max = row[0];
  for (int j = 1; j < c; ++j)
    if (row[j] > max) {
      max = row[j];
      best = j;
    }
  float sum = 0.0f;
  for (int j = 0; j < c; ++j) {
    row[j] = exp(row[j] - max);
    sum += row[j];
  }
  const int label = labels[i];
  loss[i] = -log(fmax(row[label] / sum, 1e-30f));
  correct[i] = best == label ? 1.0f : 0.0f;
  for (int j = 0; j < c; ++j)
    row[j] = row[j] * (scale / sum);
  row[label] -= scale;
}

// out[j] += sum over rows of x[i, j] (m x n): a bias gradient. One work-item per column.
__kernel void column_sums(const int m, const int n, __global const float* x,
                          __global float* out) {
  const int j = get_global_id(0);
  if (j >= n)
    return;
  float s = 0.0f;
  for (int i = 0; i < m; ++i)
    s += x[i * n + j];
  out[j] += s;
}

// Softmax of each row of x (m x c), in place. One work-item per row.
__kernel void softmax_rows(const int m, const int c, __global float* x) {
  const int i = get_global_id(0);
  if (i >= m)
    return;
  __global float* row = x + i * c;
  float max = row[0];
  for (int j = 1; j < c; ++j)
    max = fmax(max, row[j]);
  float sum = 0.0f;
  for (int j = 0; j < c; ++j) {
    row[j] = exp(row[j] - max);
    sum += row[j];
  }
  for (int j = 0; j < c; ++j)
    row[j] /= sum;
}
