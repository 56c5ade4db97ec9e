#include "compute/opencl/backend.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <mutex>

#define CL_HPP_ENABLE_EXCEPTIONS
#define CL_HPP_MINIMUM_OPENCL_VERSION 200
#define CL_HPP_TARGET_OPENCL_VERSION 300
#include <CL/opencl.hpp>

#include "compute/errc.hpp"

namespace nexus::compute::opencl {

extern const char* const gemm_source; // compute/kernels/gemm.cl, embedded
extern const char* const nn_source;   // compute/kernels/nn.cl

namespace {

constexpr int tile = 32;
constexpr int per_item = 8; // columns per work-item (register blocking)

// Out of memory is errc::exhausted (this call's work can go elsewhere, the device stays
// usable); anything else errc::unavailable.
error cl_error(const cl::Error& e, const std::string& what) {
  auto code =
      e.err() == CL_MEM_OBJECT_ALLOCATION_FAILURE || e.err() == CL_OUT_OF_HOST_MEMORY
          ? errc::exhausted
          : errc::unavailable;
  return make_error(code, "OpenCL " + what + ": " + e.what() + " failed (error "
                              + std::to_string(e.err()) + ")");
}

constexpr double mib = 1024.0 * 1024.0;

// Thrown by device_memory when a call would take more than the device allows.
struct out_of_memory {
  std::size_t needed;
  std::size_t limit;
};

// "512 KiB", "1.5 MiB"
std::string size_text(std::size_t bytes) {
  char text[32];
  if (bytes < 1024 * 1024)
    std::snprintf(text, sizeof(text), "%.0f KiB", static_cast<double>(bytes) / 1024.0);
  else
    std::snprintf(text, sizeof(text), "%.1f MiB", static_cast<double>(bytes) / mib);
  return text;
}

error memory_error(const out_of_memory& e, const std::string& what) {
  return make_error(errc::exhausted, "OpenCL " + what + " needs more than "
                                         + size_text(e.needed) + " of device memory (limit "
                                         + size_text(e.limit) + ")");
}

// The buffers of one call, counted against the device's memory before each is made, so
// that work too large for the device fails at once with its size instead of somewhere in
// the driver.
class device_memory {
public:
  device_memory(cl::Context& ctx, std::size_t limit, std::size_t max_allocation)
      : ctx_(ctx)
      , limit_(limit)
      , max_allocation_(max_allocation) {}

  // `count` elements of T copied from the host.
  template <class T>
  cl::Buffer input(const T* host, std::size_t count) {
    return make(CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, bytes<T>(count),
                const_cast<T*>(host));
  }

  // Read and written by kernels, starting from the host's values.
  cl::Buffer in_out(float* host, std::size_t count) {
    return make(CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, bytes<float>(count), host);
  }

  cl::Buffer scratch(std::size_t count) {
    return make(CL_MEM_READ_WRITE, bytes<float>(count), nullptr);
  }

private:
  template <class T>
  static std::size_t bytes(std::size_t count) {
    return std::max<std::size_t>(count, 1) * sizeof(T);
  }

  cl::Buffer make(cl_mem_flags flags, std::size_t size, void* host) {
    if (size > max_allocation_)
      throw out_of_memory{size, max_allocation_};
    if (used_ + size > limit_)
      throw out_of_memory{used_ + size, limit_};
    used_ += size;
    return cl::Buffer{ctx_, flags, size, host};
  }

  cl::Context& ctx_;
  std::size_t limit_;
  std::size_t max_allocation_;
  std::size_t used_ = 0;
};

struct found {
  cl::Platform platform;
  cl::Device device;
  device_info info;
};

std::vector<found> discover() {
  std::vector<found> out;
  std::vector<cl::Platform> platforms;
  try {
    cl::Platform::get(&platforms);
  } catch (const cl::Error&) {
    return out; // no ICD, or no platform
  }
  for (auto& p : platforms) {
    std::vector<cl::Device> devices;
    try {
      p.getDevices(CL_DEVICE_TYPE_ALL, &devices);
    } catch (const cl::Error&) {
      continue;
    }
    for (auto& d : devices) {
      device_info info;
      info.name = d.getInfo<CL_DEVICE_NAME>();
      info.platform = p.getInfo<CL_PLATFORM_NAME>();
      info.gpu = (d.getInfo<CL_DEVICE_TYPE>() & CL_DEVICE_TYPE_GPU) != 0;
      info.global_memory = d.getInfo<CL_DEVICE_GLOBAL_MEM_SIZE>();
      info.max_allocation = d.getInfo<CL_DEVICE_MAX_MEM_ALLOC_SIZE>();
      info.compute_units = d.getInfo<CL_DEVICE_MAX_COMPUTE_UNITS>();
      out.push_back({p, d, std::move(info)});
    }
  }
  return out;
}

void set_gemm_args(cl::Kernel& kernel, std::size_t m, std::size_t n, std::size_t k,
                   const cl::Buffer& a, const cl::Buffer& b, const cl::Buffer& c) {
  kernel.setArg(0, static_cast<int>(m));
  kernel.setArg(1, static_cast<int>(n));
  kernel.setArg(2, static_cast<int>(k));
  kernel.setArg(3, a);
  kernel.setArg(4, b);
  kernel.setArg(5, c);
}

} // namespace

struct context::impl {
  device_info info;
  cl::Context ctx;
  cl::CommandQueue queue;
  cl::Program program;
  cl::Kernel gemm;
  cl::Kernel gemm_t, bias_activation, relu_backward, softmax_xent, column_sums,
      softmax_rows;
  std::size_t memory_limit = 0;
  std::mutex mtx;

  device_memory memory() {
    return {ctx, memory_limit, info.max_allocation};
  }
};

std::vector<device_info> list_devices() {
  std::vector<device_info> out;
  for (auto& f : discover())
    out.push_back(f.info);
  return out;
}

context::context(std::unique_ptr<impl> p)
    : impl_(std::move(p)) {}

context::~context() = default;

expected<std::unique_ptr<context>> context::open(std::size_t index,
                                                 const std::string& build_options) {
  auto all = discover();
  if (index >= all.size())
    return make_error(errc::not_found, "no OpenCL device " + std::to_string(index)
                                           + " (there are " + std::to_string(all.size())
                                           + ")");
  auto p = std::make_unique<impl>();
  p->info = all[index].info;
  p->memory_limit = p->info.global_memory;
  std::string step = "context";
  try {
    p->ctx = cl::Context{all[index].device};
    step = "command queue";
    p->queue = cl::CommandQueue{p->ctx, all[index].device};
    step = "program build";
    p->program = cl::Program{p->ctx, cl::Program::Sources{gemm_source, nn_source}};
    try {
      auto options =
          "-DTILE=" + std::to_string(tile) + " -DWPT=" + std::to_string(per_item);
      if (!build_options.empty())
        options += " " + build_options;
      p->program.build({all[index].device}, options.c_str());
    } catch (const cl::Error& e) {
      std::string log;
      try {
        log = p->program.getBuildInfo<CL_PROGRAM_BUILD_LOG>(all[index].device);
      } catch (const cl::Error&) {
      }
      while (!log.empty() && std::isspace(static_cast<unsigned char>(log.back())))
        log.pop_back();
      return make_error(errc::unavailable, "OpenCL kernels do not build on " + p->info.name
                                               + " (error " + std::to_string(e.err()) + ")"
                                               + (log.empty() ? "" : ": " + log));
    }
    step = "kernel";
    p->gemm = cl::Kernel{p->program, "gemm"};
    p->gemm_t = cl::Kernel{p->program, "gemm_t"};
    p->bias_activation = cl::Kernel{p->program, "bias_activation"};
    p->relu_backward = cl::Kernel{p->program, "relu_backward"};
    p->softmax_xent = cl::Kernel{p->program, "softmax_xent"};
    p->column_sums = cl::Kernel{p->program, "column_sums"};
    p->softmax_rows = cl::Kernel{p->program, "softmax_rows"};
  } catch (const cl::Error& e) {
    return cl_error(e, step + " on " + p->info.name);
  }
  return std::unique_ptr<context>{new context{std::move(p)}};
}

expected<std::unique_ptr<context>> context::open_best(const std::string& build_options) {
  auto all = list_devices();
  if (all.empty())
    return make_error(errc::not_found,
                      "no OpenCL device (is an ICD such as pocl-opencl-icd "
                      "installed?)");
  std::size_t best = 0;
  for (std::size_t i = 0; i < all.size(); ++i)
    if (all[i].gpu) {
      best = i;
      break;
    }
  return open(best, build_options);
}

void context::limit_memory(std::size_t bytes) {
  std::lock_guard guard{impl_->mtx};
  impl_->memory_limit = std::min(bytes, impl_->info.global_memory);
}

const device_info& context::device() const noexcept {
  return impl_->info;
}

error context::gemm(const float* a, const float* b, float* c, std::size_t m, std::size_t k,
                    std::size_t n) {
  if (m == 0 || n == 0)
    return {};
  if (m > INT32_MAX / 2 || n > INT32_MAX / 2 || k > INT32_MAX / 2 || m * k > INT32_MAX
      || k * n > INT32_MAX || m * n > INT32_MAX)
    return make_error(errc::invalid_input,
                      "matrix too large for the OpenCL kernel's int indices");
  std::lock_guard guard{impl_->mtx};
  try {
    auto mem = impl_->memory();
    auto da = mem.input(a, m * k);
    auto db = mem.input(b, k * n);
    auto dc = mem.scratch(m * n);
    auto& kernel = impl_->gemm;
    set_gemm_args(kernel, m, n, k, da, db, dc);
    auto up = [](std::size_t x) { return (x + tile - 1) / tile * tile; };
    cl::NDRange global{up(n) / per_item, up(m)};
    cl::NDRange local{tile / per_item, tile};
    impl_->queue.enqueueNDRangeKernel(kernel, cl::NullRange, global, local);
    impl_->queue.enqueueReadBuffer(dc, CL_TRUE, 0, m * n * sizeof(float), c);
  } catch (const cl::Error& e) {
    return cl_error(e, "GEMM on " + impl_->info.name);
  } catch (const out_of_memory& e) {
    return memory_error(e, "GEMM " + std::to_string(m) + "x" + std::to_string(k) + "x"
                               + std::to_string(n) + " on " + impl_->info.name);
  }
  return {};
}

expected<double> context::time_gemm_kernel(std::size_t m, std::size_t k, std::size_t n,
                                           unsigned repeats) {
  if (m == 0 || k == 0 || n == 0 || m * k > INT32_MAX || k * n > INT32_MAX
      || m * n > INT32_MAX)
    return make_error(errc::invalid_input, "shape out of the kernel's range");
  std::lock_guard guard{impl_->mtx};
  try {
    auto mem = impl_->memory();
    auto da = mem.scratch(m * k);
    auto db = mem.scratch(k * n);
    auto dc = mem.scratch(m * n);
    impl_->queue.enqueueFillBuffer(da, 1.0f, 0, m * k * sizeof(float));
    impl_->queue.enqueueFillBuffer(db, 0.5f, 0, k * n * sizeof(float));
    auto& kernel = impl_->gemm;
    set_gemm_args(kernel, m, n, k, da, db, dc);
    auto up = [](std::size_t x) { return (x + tile - 1) / tile * tile; };
    cl::NDRange global{up(n) / per_item, up(m)};
    cl::NDRange local{tile / per_item, tile};
    impl_->queue.enqueueNDRangeKernel(kernel, cl::NullRange, global, local); // warm-up
    impl_->queue.finish();
    double best = 1e30;
    for (unsigned i = 0; i < std::max(1u, repeats); ++i) {
      auto start = std::chrono::steady_clock::now();
      impl_->queue.enqueueNDRangeKernel(kernel, cl::NullRange, global, local);
      impl_->queue.finish();
      best = std::min(
          best,
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    return best;
  } catch (const cl::Error& e) {
    return cl_error(e, "GEMM kernel on " + impl_->info.name);
  } catch (const out_of_memory& e) {
    return memory_error(e, "GEMM kernel on " + impl_->info.name);
  }
}

namespace {

// Global size rounded up to the local size 16 in each dimension.
cl::NDRange grid(std::size_t cols, std::size_t rows) {
  auto up = [](std::size_t x) { return (x + 15) / 16 * 16; };
  return {up(cols), up(rows)};
}

template <class... Args>
void set_args(cl::Kernel& k, Args&&... args) {
  cl_uint i = 0;
  (k.setArg(i++, std::forward<Args>(args)), ...);
}

} // namespace

error context::mlp_probabilities(const std::vector<layer>& layers, const float* params,
                                 const float* x, std::size_t rows, float* out) {
  if (layers.empty() || rows == 0)
    return {};
  std::lock_guard guard{impl_->mtx};
  auto& q = impl_->queue;
  try {
    auto mem = impl_->memory();
    auto m = static_cast<int>(rows);
    auto h = mem.input(x, rows * layers.front().in);
    std::size_t at = 0;
    for (std::size_t i = 0; i < layers.size(); ++i) {
      const auto& l = layers[i];
      auto in = static_cast<int>(l.in), o = static_cast<int>(l.out);
      auto w = mem.input(params + at, l.in * l.out);
      auto b = mem.input(params + at + l.in * l.out, l.out);
      at += l.in * l.out + l.out;
      auto z = mem.scratch(rows * l.out);
      auto next = mem.scratch(rows * l.out);
      set_args(impl_->gemm_t, m, o, in, 0, 1, 1.0f, h, in, w, in, 0.0f, z, o);
      q.enqueueNDRangeKernel(impl_->gemm_t, cl::NullRange, grid(l.out, rows),
                             cl::NDRange{16, 16});
      bool relu = i + 1 < layers.size() && l.relu;
      set_args(impl_->bias_activation, m, o, z, b, next, relu ? 1 : 0);
      q.enqueueNDRangeKernel(impl_->bias_activation, cl::NullRange, grid(l.out, rows),
                             cl::NDRange{16, 16});
      h = next;
    }
    auto classes = static_cast<int>(layers.back().out);
    set_args(impl_->softmax_rows, m, classes, h);
    q.enqueueNDRangeKernel(impl_->softmax_rows, cl::NullRange,
                           cl::NDRange{(rows + 63) / 64 * 64}, cl::NDRange{64});
    q.enqueueReadBuffer(h, CL_TRUE, 0, rows * layers.back().out * sizeof(float), out);
  } catch (const cl::Error& e) {
    return cl_error(e, "MLP inference on " + impl_->info.name);
  } catch (const out_of_memory& e) {
    return memory_error(e, "MLP inference of " + std::to_string(rows) + " rows on "
                               + impl_->info.name);
  }
  return {};
}

expected<std::pair<double, std::size_t>>
context::mlp_gradient(const std::vector<layer>& layers, const float* params, const float* x,
                      const int* labels, std::size_t rows, float* grad, float scale) {
  if (layers.empty() || rows == 0)
    return std::pair<double, std::size_t>{0.0, 0};
  std::lock_guard guard{impl_->mtx};
  auto& q = impl_->queue;
  try {
    auto mem = impl_->memory();
    auto in_buffer = [&](const float* data, std::size_t n) { return mem.input(data, n); };
    auto rw_buffer = [&](std::size_t n) { return mem.scratch(n); };
    auto m = static_cast<int>(rows);
    std::vector<cl::Buffer> w, b, gw, gb, z, h; // h[0] is the input
    h.push_back(in_buffer(x, rows * layers.front().in));
    std::size_t at = 0;
    for (const auto& l : layers) {
      w.push_back(in_buffer(params + at, l.in * l.out));
      b.push_back(in_buffer(params + at + l.in * l.out, l.out));
      gw.push_back(mem.in_out(grad + at, l.in * l.out));
      gb.push_back(mem.in_out(grad + at + l.in * l.out, l.out));
      at += l.in * l.out + l.out;
      z.push_back(rw_buffer(rows * l.out));
      h.push_back(rw_buffer(rows * l.out));
    }
    auto ys = mem.input(labels, rows);
    // Forward: z = h W^T + b, h' = relu(z) (none on the last layer).
    for (std::size_t i = 0; i < layers.size(); ++i) {
      const auto& l = layers[i];
      auto in = static_cast<int>(l.in), out = static_cast<int>(l.out);
      set_args(impl_->gemm_t, m, out, in, 0, 1, 1.0f, h[i], in, w[i], in, 0.0f, z[i], out);
      q.enqueueNDRangeKernel(impl_->gemm_t, cl::NullRange, grid(l.out, rows),
                             cl::NDRange{16, 16});
      bool relu = i + 1 < layers.size() && l.relu;
      set_args(impl_->bias_activation, m, out, z[i], b[i], h[i + 1], relu ? 1 : 0);
      q.enqueueNDRangeKernel(impl_->bias_activation, cl::NullRange, grid(l.out, rows),
                             cl::NDRange{16, 16});
    }
    // Loss: the last pre-activation becomes d loss / d logits.
    auto classes = static_cast<int>(layers.back().out);
    auto delta = z.back();
    auto loss = rw_buffer(rows);
    auto correct = rw_buffer(rows);
    set_args(impl_->softmax_xent, m, classes, delta, ys, scale, loss, correct);
    q.enqueueNDRangeKernel(impl_->softmax_xent, cl::NullRange,
                           cl::NDRange{(rows + 63) / 64 * 64}, cl::NDRange{64});
    // Backward.
    for (std::size_t i = layers.size(); i-- > 0;) {
      const auto& l = layers[i];
      auto in = static_cast<int>(l.in), out = static_cast<int>(l.out);
      // gW += delta^T h (out x in), gb += column sums of delta.
      set_args(impl_->gemm_t, out, in, m, 1, 0, 1.0f, delta, out, h[i], in, 1.0f, gw[i],
               in);
      q.enqueueNDRangeKernel(impl_->gemm_t, cl::NullRange, grid(l.in, l.out),
                             cl::NDRange{16, 16});
      set_args(impl_->column_sums, m, out, delta, gb[i]);
      q.enqueueNDRangeKernel(impl_->column_sums, cl::NullRange,
                             cl::NDRange{(l.out + 63) / 64 * 64}, cl::NDRange{64});
      if (i == 0)
        break;
      // delta' = delta W (rows x in), through the ReLU before this layer.
      auto next = rw_buffer(rows * l.in);
      set_args(impl_->gemm_t, m, in, out, 0, 0, 1.0f, delta, out, w[i], in, 0.0f, next, in);
      q.enqueueNDRangeKernel(impl_->gemm_t, cl::NullRange, grid(l.in, rows),
                             cl::NDRange{16, 16});
      if (layers[i - 1].relu) {
        set_args(impl_->relu_backward, m, in, next, z[i - 1]);
        q.enqueueNDRangeKernel(impl_->relu_backward, cl::NullRange, grid(l.in, rows),
                               cl::NDRange{16, 16});
      }
      delta = next;
    }
    at = 0;
    for (std::size_t i = 0; i < layers.size(); ++i) {
      const auto& l = layers[i];
      q.enqueueReadBuffer(gw[i], CL_FALSE, 0, l.in * l.out * sizeof(float), grad + at);
      q.enqueueReadBuffer(gb[i], CL_FALSE, 0, l.out * sizeof(float),
                          grad + at + l.in * l.out);
      at += l.in * l.out + l.out;
    }
    std::vector<float> losses(rows), hits(rows);
    q.enqueueReadBuffer(loss, CL_FALSE, 0, rows * sizeof(float), losses.data());
    q.enqueueReadBuffer(correct, CL_FALSE, 0, rows * sizeof(float), hits.data());
    q.finish();
    double sum = 0;
    std::size_t right = 0;
    for (std::size_t i = 0; i < rows; ++i) {
      sum += losses[i];
      right += hits[i] > 0.5f;
    }
    return std::pair<double, std::size_t>{sum, right};
  } catch (const cl::Error& e) {
    return cl_error(e, "MLP gradient on " + impl_->info.name);
  } catch (const out_of_memory& e) {
    return memory_error(e, "MLP gradient of " + std::to_string(rows) + " rows on "
                               + impl_->info.name);
  }
}

} // namespace nexus::compute::opencl
