#pragma once
// A large array of doubles (a sparse factor, a solver's workspace) backed by transparent huge
// pages where the kernel offers them (Linux, THP "madvise" mode is the common default).
//
// Why: the first touch of every 4 KiB page is a page fault. For a 32 MB factor that is 8,000 faults;
// on a virtual machine each costs microseconds, and they took a third of a 256x256 crossbar's
// factorization. With 2 MiB pages it is 16 faults, and streaming solves miss the TLB less. Arrays
// under 4 MiB come from malloc instead, which recycles freed memory without faults (a huge page
// would be cleared in full on first touch). Contents are unspecified after resize().
#include <sys/mman.h>

#include <cstddef>
#include <cstdlib>
#include <cstdint>
#include <new>
#include <utility>

namespace xbarkit {

class HugeBuffer {
public:
  HugeBuffer() = default;
  explicit HugeBuffer(size_t count) { resize(count); }
  ~HugeBuffer() { release(); }
  HugeBuffer(HugeBuffer&& o) noexcept { swap(o); }
  HugeBuffer& operator=(HugeBuffer&& o) noexcept {
    if (this != &o) release(), swap(o);
    return *this;
  }
  HugeBuffer(const HugeBuffer&) = delete;
  HugeBuffer& operator=(const HugeBuffer&) = delete;

  // Discards the contents (the new array's are unspecified).
  void resize(size_t count) {
    release();
    if (count == 0) return;
    constexpr size_t kHuge = size_t{2} << 20;
    if (count * sizeof(double) < 2 * kHuge) {
      data_ = static_cast<double*>(std::malloc(count * sizeof(double)));
      if (!data_) throw std::bad_alloc();
      size_ = count;
      return;
    }
    // Over-allocate so that the array can start on a 2 MiB boundary (only aligned 2 MiB ranges can
    // become huge pages), and round its end up to one.
    bytes_ = (count * sizeof(double) + 2 * kHuge - 1) / kHuge * kHuge;
    void* p = mmap(nullptr, bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
      bytes_ = 0;
      throw std::bad_alloc();
    }
    map_ = p;
    const auto addr = reinterpret_cast<uintptr_t>(p);
    const uintptr_t aligned = (addr + kHuge - 1) / kHuge * kHuge;
    data_ = reinterpret_cast<double*>(aligned);
#ifdef MADV_HUGEPAGE
    madvise(data_, bytes_ - (aligned - addr), MADV_HUGEPAGE);  // advice only: failure is harmless
#endif
    size_ = count;
  }

  double* data() { return data_; }
  const double* data() const { return data_; }
  size_t size() const { return size_; }

private:
  void release() {
    if (map_) munmap(map_, bytes_);
    else std::free(data_);
    map_ = nullptr, data_ = nullptr, size_ = 0, bytes_ = 0;
  }
  void swap(HugeBuffer& o) noexcept {
    std::swap(map_, o.map_), std::swap(data_, o.data_), std::swap(size_, o.size_), std::swap(bytes_, o.bytes_);
  }

  void* map_ = nullptr;  // the mapping (huge arrays); null when data_ came from malloc
  double* data_ = nullptr;
  size_t size_ = 0;
  size_t bytes_ = 0;
};

}  // namespace xbarkit
