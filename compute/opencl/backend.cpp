#include "compute/opencl/backend.hpp"

#include <mutex>

#define CL_HPP_ENABLE_EXCEPTIONS
#define CL_HPP_MINIMUM_OPENCL_VERSION 200
#define CL_HPP_TARGET_OPENCL_VERSION 300
#include <CL/opencl.hpp>

#include "compute/errc.hpp"

namespace nexus::compute::opencl {

extern const char* const gemm_source; // compute/kernels/gemm.cl, embedded

namespace {

constexpr int tile = 32;
constexpr int per_item = 8; // columns per work-item (register blocking)

caf::error cl_error(const cl::Error& e, const std::string& what) {
  return make_error(errc::unavailable, "OpenCL " + what + ": " + e.what() + " failed (error "
                                         + std::to_string(e.err()) + ")");
}

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
      info.compute_units = d.getInfo<CL_DEVICE_MAX_COMPUTE_UNITS>();
      out.push_back({p, d, std::move(info)});
    }
  }
  return out;
}

} // namespace

struct context::impl {
  device_info info;
  cl::Context ctx;
  cl::CommandQueue queue;
  cl::Program program;
  cl::Kernel gemm;
  std::mutex mtx;
};

std::vector<device_info> list_devices() {
  std::vector<device_info> out;
  for (auto& f : discover())
    out.push_back(f.info);
  return out;
}

context::context(std::unique_ptr<impl> p) : impl_(std::move(p)) {
}

context::~context() = default;

caf::expected<std::unique_ptr<context>> context::open(std::size_t index) {
  auto all = discover();
  if (index >= all.size())
    return make_error(errc::not_found, "no OpenCL device " + std::to_string(index) + " (there are "
                                         + std::to_string(all.size()) + ")");
  auto p = std::make_unique<impl>();
  p->info = all[index].info;
  std::string step = "context";
  try {
    p->ctx = cl::Context{all[index].device};
    step = "command queue";
    p->queue = cl::CommandQueue{p->ctx, all[index].device};
    step = "program build";
    p->program = cl::Program{p->ctx, std::string{gemm_source}};
    try {
      p->program.build({all[index].device}, ("-DTILE=" + std::to_string(tile) + " -DWPT="
                                             + std::to_string(per_item)).c_str());
    } catch (const cl::Error& e) {
      auto log = p->program.getBuildInfo<CL_PROGRAM_BUILD_LOG>(all[index].device);
      return make_error(errc::unavailable, "OpenCL kernels do not build on " + p->info.name
                                             + ": " + log);
    }
    step = "kernel";
    p->gemm = cl::Kernel{p->program, "gemm"};
  } catch (const cl::Error& e) {
    return cl_error(e, step + " on " + p->info.name);
  }
  return std::unique_ptr<context>{new context{std::move(p)}};
}

caf::expected<std::unique_ptr<context>> context::open_best() {
  auto all = list_devices();
  if (all.empty())
    return make_error(errc::not_found, "no OpenCL device (is an ICD such as pocl-opencl-icd "
                                       "installed?)");
  std::size_t best = 0;
  for (std::size_t i = 0; i < all.size(); ++i)
    if (all[i].gpu) {
      best = i;
      break;
    }
  return open(best);
}

const device_info& context::device() const noexcept {
  return impl_->info;
}

caf::error context::gemm(const float* a, const float* b, float* c, std::size_t m, std::size_t k,
                         std::size_t n) {
  if (m == 0 || n == 0)
    return caf::none;
  if (m > INT32_MAX / 2 || n > INT32_MAX / 2 || k > INT32_MAX / 2 || m * k > INT32_MAX
      || k * n > INT32_MAX || m * n > INT32_MAX)
    return make_error(errc::invalid_input, "matrix too large for the OpenCL kernel's int indices");
  std::lock_guard guard{impl_->mtx};
  try {
    auto& ctx = impl_->ctx;
    cl::Buffer da{ctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, std::max<std::size_t>(1, m * k) * sizeof(float),
                  const_cast<float*>(a)};
    cl::Buffer db{ctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, std::max<std::size_t>(1, k * n) * sizeof(float),
                  const_cast<float*>(b)};
    cl::Buffer dc{ctx, CL_MEM_WRITE_ONLY, m * n * sizeof(float)};
    auto& kernel = impl_->gemm;
    kernel.setArg(0, static_cast<int>(m));
    kernel.setArg(1, static_cast<int>(n));
    kernel.setArg(2, static_cast<int>(k));
    kernel.setArg(3, da);
    kernel.setArg(4, db);
    kernel.setArg(5, dc);
    auto up = [](std::size_t x) { return (x + tile - 1) / tile * tile; };
    cl::NDRange global{up(n) / per_item, up(m)};
    cl::NDRange local{tile / per_item, tile};
    impl_->queue.enqueueNDRangeKernel(kernel, cl::NullRange, global, local);
    impl_->queue.enqueueReadBuffer(dc, CL_TRUE, 0, m * n * sizeof(float), c);
  } catch (const cl::Error& e) {
    return cl_error(e, "GEMM on " + impl_->info.name);
  }
  return caf::none;
}

} // namespace nexus::compute::opencl
