// Virtio-mmio version 2 and split virtqueues (virtio 1.1 §2.6, §4.2.2). Field layouts in guest RAM
// (all little-endian, as the host is):
//   descriptor   le64 addr, le32 len, le16 flags, le16 next                       (16 bytes, align 16)
//   avail ring   le16 flags, le16 idx, le16 ring[size], le16 used_event           (align 2)
//   used ring    le16 flags, le16 idx, {le32 id, le32 len} ring[size], le16 avail_event  (align 4)
#include "devices/virtio_mmio.h"

#include <algorithm>
#include <cstring>

#include "core/errors.h"

namespace vmkit::devices {

namespace {

constexpr uint16_t kDescNext = 1, kDescWrite = 2, kDescIndirect = 4;
constexpr uint16_t kAvailNoInterrupt = 1;
constexpr uint64_t kDescSize = 16;
// Descriptors one chain may have in all (direct and indirect). The spec bounds a chain by the
// queue size, but Linux lets an indirect table be longer than the ring; qemu allows 1024.
constexpr uint32_t kMaxChainDescriptors = VirtQueue::kMaxSize;

struct Desc {
  uint64_t addr;
  uint32_t len;
  uint16_t flags;
  uint16_t next;
};
static_assert(sizeof(Desc) == kDescSize);

}  // namespace

// ---- VirtQueue ----

VirtQueue::VirtQueue(PhysicalMemory& ram, uint16_t max_size) : ram_(ram), max_size_(max_size), size_(max_size) {}

void VirtQueue::reset() {
  desc_addr = driver_addr = device_addr = 0;
  size_ = max_size_;
  indirect_allowed = false;
  ready_ = false;
  last_avail_ = used_idx_ = 0;
  interrupt_ = false;
  error_.clear();
}

bool VirtQueue::enable() {
  if (size_ == 0 || size_ > max_size_ || (size_ & (size_ - 1))) {
    fail("queue size " + std::to_string(size_) + " is not a power of 2 from 1 to " + std::to_string(max_size_));
    return false;
  }
  if (desc_addr % 16 || !ram_.in_ram(desc_addr, kDescSize * size_)) {
    fail("descriptor table at " + hex(desc_addr) + " is not 16-byte aligned RAM");
    return false;
  }
  if (driver_addr % 2 || !ram_.in_ram(driver_addr, 6 + 2ull * size_)) {
    fail("available ring at " + hex(driver_addr) + " is not 2-byte aligned RAM");
    return false;
  }
  if (device_addr % 4 || !ram_.in_ram(device_addr, 6 + 8ull * size_)) {
    fail("used ring at " + hex(device_addr) + " is not 4-byte aligned RAM");
    return false;
  }
  last_avail_ = used_idx_ = 0;
  interrupt_ = false;
  ready_ = true;
  return true;
}

void VirtQueue::disable() { ready_ = false; }

void VirtQueue::fail(const std::string& why) {
  if (error_.empty()) error_ = why;
}

uint16_t VirtQueue::load16(uint64_t paddr) const {
  uint16_t v;
  std::memcpy(&v, ram_.host(paddr, 2), 2);
  return v;
}

void VirtQueue::store(uint64_t paddr, const void* data, size_t len) {
  // Through PhysicalMemory::write, which drops translations of code pages it writes to.
  ram_.write(paddr, data, len);
}

bool VirtQueue::has_available() {
  if (!ready_ || broken()) return false;
  return load16(driver_addr + 2) != last_avail_;
}

bool VirtQueue::add_buffer(Chain& out, uint64_t addr, uint32_t len, bool writable) {
  // Empty buffers carry nothing, so they are skipped, order included.
  if (len == 0) return true;
  if (!writable && !out.writable.empty()) {
    fail("descriptor chain " + std::to_string(out.head) + " has a device-readable buffer after a writable one");
    return false;
  }
  if (!ram_.in_ram(addr, len)) {
    fail("descriptor chain " + std::to_string(out.head) + " has a buffer at " + hex(addr) + " (" +
         std::to_string(len) + " bytes) outside RAM");
    return false;
  }
  if (writable) {
    out.writable.push_back({addr, len});
    out.writable_bytes += len;
  } else {
    out.readable.push_back({addr, len});
    out.readable_bytes += len;
  }
  return true;
}

bool VirtQueue::walk_indirect(Chain& out, uint64_t table, uint32_t table_len) {
  if (!indirect_allowed) {
    fail("indirect descriptor without VIRTIO_F_RING_INDIRECT_DESC");
    return false;
  }
  if (table_len == 0 || table_len % kDescSize || table_len / kDescSize > kMaxChainDescriptors ||
      !ram_.in_ram(table, table_len)) {
    fail("indirect table at " + hex(table) + " (" + std::to_string(table_len) +
         " bytes) is empty, not a whole number of descriptors, too long or outside RAM");
    return false;
  }
  const uint32_t entries = table_len / kDescSize;
  const uint8_t* base = ram_.host(table, table_len);
  uint32_t index = 0;
  for (uint32_t count = 0;; ++count) {
    if (count >= entries) {
      fail("indirect table at " + hex(table) + " loops");
      return false;
    }
    Desc d;
    std::memcpy(&d, base + kDescSize * index, kDescSize);
    if (d.flags & kDescIndirect) {
      fail("indirect table at " + hex(table) + " holds an indirect descriptor");
      return false;
    }
    if (!add_buffer(out, d.addr, d.len, d.flags & kDescWrite)) return false;
    if (!(d.flags & kDescNext)) return true;
    if (d.next >= entries) {
      fail("indirect table at " + hex(table) + " links to entry " + std::to_string(d.next) + " of " +
           std::to_string(entries));
      return false;
    }
    index = d.next;
  }
}

bool VirtQueue::pop(Chain& out) {
  if (!ready_ || broken()) return false;
  const uint16_t avail_idx = load16(driver_addr + 2);
  const uint16_t pending = static_cast<uint16_t>(avail_idx - last_avail_);
  if (pending == 0) return false;
  if (pending > size_) {
    fail("available ring idx " + std::to_string(avail_idx) + " is " + std::to_string(pending) +
         " entries ahead of the device, more than the queue size " + std::to_string(size_));
    return false;
  }
  const uint16_t head = load16(driver_addr + 4 + 2ull * (last_avail_ % size_));
  out.head = head;
  out.readable.clear();
  out.writable.clear();
  out.readable_bytes = out.writable_bytes = 0;
  uint32_t index = head;
  for (uint32_t count = 0;; ++count) {
    if (index >= size_) {
      fail("descriptor index " + std::to_string(index) + " is past the queue size " + std::to_string(size_));
      return false;
    }
    if (count >= size_) {
      fail("descriptor chain " + std::to_string(head) + " loops");
      return false;
    }
    Desc d;
    std::memcpy(&d, ram_.host(desc_addr + kDescSize * index, kDescSize), kDescSize);
    if (d.flags & kDescIndirect) {
      if (d.flags & kDescNext) {
        fail("descriptor " + std::to_string(index) + " is both indirect and chained");
        return false;
      }
      if (!walk_indirect(out, d.addr, d.len)) return false;
      break;
    }
    if (!add_buffer(out, d.addr, d.len, d.flags & kDescWrite)) return false;
    if (!(d.flags & kDescNext)) break;
    index = d.next;
  }
  ++last_avail_;
  return true;
}

void VirtQueue::push(const Chain& chain, uint32_t written) {
  if (!ready_ || broken()) return;
  written = static_cast<uint32_t>(std::min<uint64_t>(written, chain.writable_bytes));
  const uint32_t elem[2] = {chain.head, written};
  store(device_addr + 4 + 8ull * (used_idx_ % size_), elem, sizeof elem);
  // The entry before the index that publishes it (one thread: program order is enough).
  ++used_idx_;
  store(device_addr + 2, &used_idx_, 2);
  if (!(load16(driver_addr) & kAvailNoInterrupt)) interrupt_ = true;
}

size_t VirtQueue::read(const Chain& chain, uint64_t offset, void* out, size_t len) const {
  std::vector<Piece> pieces;
  const uint64_t available = chain.readable_bytes > offset ? chain.readable_bytes - offset : 0;
  len = static_cast<size_t>(std::min<uint64_t>(len, available));
  if (len == 0 || !readable_pieces(chain, offset, len, pieces)) return 0;
  auto* dst = static_cast<uint8_t*>(out);
  for (const Piece& p : pieces) {
    std::memcpy(dst, p.host, p.len);
    dst += p.len;
  }
  return len;
}

size_t VirtQueue::write(const Chain& chain, uint64_t offset, const void* data, size_t len) {
  std::vector<Piece> pieces;
  const uint64_t room = chain.writable_bytes > offset ? chain.writable_bytes - offset : 0;
  len = static_cast<size_t>(std::min<uint64_t>(len, room));
  if (len == 0 || !writable_pieces(chain, offset, len, pieces)) return 0;
  auto* src = static_cast<const uint8_t*>(data);
  for (const Piece& p : pieces) {
    std::memcpy(p.host, src, p.len);
    src += p.len;
  }
  return len;
}

namespace {
// The pieces of `buffers` covering [offset, offset + len); false if they hold fewer bytes.
bool pieces_of(PhysicalMemory& ram, const std::vector<VirtQueue::Buffer>& buffers, uint64_t offset, uint64_t len,
               std::vector<VirtQueue::Piece>& out) {
  out.clear();
  for (const VirtQueue::Buffer& b : buffers) {
    if (len == 0) break;
    if (offset >= b.len) {
      offset -= b.len;
      continue;
    }
    const uint64_t n = std::min<uint64_t>(b.len - offset, len);
    out.push_back({ram.host(b.paddr + offset, n), static_cast<size_t>(n)});
    offset = 0;
    len -= n;
  }
  return len == 0;
}
}  // namespace

bool VirtQueue::readable_pieces(const Chain& chain, uint64_t offset, uint64_t len, std::vector<Piece>& out) const {
  return pieces_of(ram_, chain.readable, offset, len, out);
}

bool VirtQueue::writable_pieces(const Chain& chain, uint64_t offset, uint64_t len, std::vector<Piece>& out) {
  if (!pieces_of(ram_, chain.writable, offset, len, out)) return false;
  // DMA into a page holding translated code: its translations go before the data changes.
  for (const Piece& p : out) {
    const uint64_t start = ram_.paddr_of(p.host);
    for (uint64_t page = start & ~(PhysicalMemory::kPageSize - 1); page < start + p.len;
         page += PhysicalMemory::kPageSize)
      if (ram_.holds_code(page)) ram_.code_written(page);
  }
  return true;
}

// ---- VirtioMmio ----

VirtioMmio::VirtioMmio(PhysicalMemory& ram, IrqLine& irq, VirtioDevice& device)
    : ram_(ram), irq_(irq), device_(device) {
  queues_.reserve(device.queue_count());
  for (unsigned i = 0; i < device.queue_count(); ++i) queues_.emplace_back(ram, device.queue_max_size(i));
  reset();
}

uint64_t VirtioMmio::offered_features() const {
  return device_.device_features() | virtio::kFVersion1 | virtio::kFRingIndirectDesc;
}

void VirtioMmio::reset() {
  status_ = 0;
  device_features_sel_ = driver_features_sel_ = 0;
  driver_features_ = 0;
  queue_sel_ = 0;
  interrupt_status_ = 0;
  error_.clear();
  for (VirtQueue& q : queues_) q.reset();
  device_.reset();
  irq_level_ = true;  // forces the line low below, whatever it was
  update_irq();
}

VirtQueue* VirtioMmio::selected_queue() { return queue_sel_ < queues_.size() ? &queues_[queue_sel_] : nullptr; }

bool VirtioMmio::read(uint64_t offset, unsigned size, uint64_t& value) {
  if (offset >= kSize) return false;
  if (offset >= kRegConfig) {
    if (size != 1 && size != 2 && size != 4 && size != 8) return false;
    uint8_t bytes[8] = {};
    const uint64_t at = offset - kRegConfig;
    const uint32_t config_size = device_.config_size();
    if (at < config_size) {
      const unsigned n = static_cast<unsigned>(std::min<uint64_t>(size, config_size - at));
      device_.read_config(static_cast<uint32_t>(at), bytes, n);
    }
    value = 0;
    std::memcpy(&value, bytes, size);
    return true;
  }
  // The spec allows only aligned 32-bit accesses to the control registers.
  if (size != 4 || offset % 4) return false;
  value = read_register(static_cast<uint32_t>(offset));
  return true;
}

bool VirtioMmio::write(uint64_t offset, unsigned size, uint64_t value) {
  if (offset >= kSize) return false;
  if (offset >= kRegConfig) {
    if (size != 1 && size != 2 && size != 4 && size != 8) return false;
    const uint64_t at = offset - kRegConfig;
    const uint32_t config_size = device_.config_size();
    if (at < config_size) {
      uint8_t bytes[8];
      std::memcpy(bytes, &value, 8);
      device_.write_config(static_cast<uint32_t>(at), bytes,
                           static_cast<unsigned>(std::min<uint64_t>(size, config_size - at)));
      after_device_call();
    }
    return true;
  }
  if (size != 4 || offset % 4) return false;
  write_register(static_cast<uint32_t>(offset), static_cast<uint32_t>(value));
  return true;
}

uint32_t VirtioMmio::read_register(uint32_t offset) {
  VirtQueue* q = selected_queue();
  switch (offset) {
    case kRegMagicValue: return kMagic;
    case kRegVersion: return kVersion;
    case kRegDeviceId: return device_.device_id();
    case kRegVendorId: return kVendorId;
    case kRegDeviceFeatures:
      if (device_features_sel_ > 1) return 0;
      return static_cast<uint32_t>(offered_features() >> (32 * device_features_sel_));
    case kRegQueueNumMax: return q ? q->max_size() : 0;
    case kRegQueueReady: return q && q->ready() ? 1 : 0;
    case kRegInterruptStatus: return interrupt_status_;
    case kRegStatus: return status_;
    // The queue addresses are write-only in the spec; reading back what was written helps debugging.
    case kRegQueueDescLow: return q ? static_cast<uint32_t>(q->desc_addr) : 0;
    case kRegQueueDescHigh: return q ? static_cast<uint32_t>(q->desc_addr >> 32) : 0;
    case kRegQueueDriverLow: return q ? static_cast<uint32_t>(q->driver_addr) : 0;
    case kRegQueueDriverHigh: return q ? static_cast<uint32_t>(q->driver_addr >> 32) : 0;
    case kRegQueueDeviceLow: return q ? static_cast<uint32_t>(q->device_addr) : 0;
    case kRegQueueDeviceHigh: return q ? static_cast<uint32_t>(q->device_addr >> 32) : 0;
    // No shared memory regions: a length of all ones says so (§4.2.2.1).
    case kRegShmLenLow:
    case kRegShmLenHigh:
    case kRegShmBaseLow:
    case kRegShmBaseHigh: return 0xffffffff;
    case kRegConfigGeneration: return config_generation_;
    default: return 0;  // write-only and reserved registers
  }
}

void VirtioMmio::write_register(uint32_t offset, uint32_t value) {
  VirtQueue* q = selected_queue();
  // The queue's configuration is frozen while it is live.
  const bool configurable = q && !q->ready();
  auto set_low = [](uint64_t& a, uint32_t v) { a = (a & ~0xffffffffull) | v; };
  auto set_high = [](uint64_t& a, uint32_t v) { a = (a & 0xffffffffull) | (uint64_t(v) << 32); };
  switch (offset) {
    case kRegDeviceFeaturesSel: device_features_sel_ = value; return;
    case kRegDriverFeaturesSel: driver_features_sel_ = value; return;
    case kRegDriverFeatures:
      // Features are fixed once the driver said FEATURES_OK.
      if ((status_ & virtio::kStatusFeaturesOk) || driver_features_sel_ > 1) return;
      if (driver_features_sel_ == 0) set_low(driver_features_, value);
      else set_high(driver_features_, value);
      return;
    case kRegQueueSel: queue_sel_ = value; return;
    case kRegQueueNum:
      if (configurable) q->set_size(value);
      return;
    case kRegQueueReady:
      if (!q) return;
      if (value & 1) {
        if (q->ready()) return;
        q->indirect_allowed = (driver_features_ & virtio::kFRingIndirectDesc) != 0;
        if (!q->enable()) device_error("queue " + std::to_string(queue_sel_) + ": " + q->error());
      } else {
        q->disable();
      }
      return;
    case kRegQueueNotify: notify(value); return;
    case kRegInterruptAck:
      interrupt_status_ &= ~value;
      update_irq();
      return;
    case kRegStatus: write_status(value); return;
    case kRegQueueDescLow: if (configurable) set_low(q->desc_addr, value); return;
    case kRegQueueDescHigh: if (configurable) set_high(q->desc_addr, value); return;
    case kRegQueueDriverLow: if (configurable) set_low(q->driver_addr, value); return;
    case kRegQueueDriverHigh: if (configurable) set_high(q->driver_addr, value); return;
    case kRegQueueDeviceLow: if (configurable) set_low(q->device_addr, value); return;
    case kRegQueueDeviceHigh: if (configurable) set_high(q->device_addr, value); return;
    default: return;  // read-only and reserved registers
  }
}

void VirtioMmio::write_status(uint32_t value) {
  if (value == 0) {
    reset();
    return;
  }
  const uint32_t old = status_;
  // DEVICE_NEEDS_RESET is the device's to set; only a reset clears it.
  status_ = (value & ~virtio::kStatusNeedsReset) | (old & virtio::kStatusNeedsReset);
  const uint32_t set = status_ & ~old;
  if (set & virtio::kStatusFeaturesOk) {
    // The driver may accept only what was offered, and a version 2 transport needs VERSION_1;
    // otherwise FEATURES_OK does not stick and the driver, reading Status back, gives up.
    const uint64_t features = driver_features_;
    if ((features & ~offered_features()) || !(features & virtio::kFVersion1)) {
      status_ &= ~virtio::kStatusFeaturesOk;
    } else {
      device_.features_negotiated(features);
    }
  }
  if ((set & virtio::kStatusDriverOk) && driver_ok()) {
    // Buffers made available before DRIVER_OK were not looked at (the notify came too early).
    for (unsigned i = 0; i < queues_.size(); ++i)
      if (queues_[i].ready() && queues_[i].has_available()) device_.queue_notify(i, queues_[i]);
    after_device_call();
  }
}

bool VirtioMmio::driver_ok() const {
  const uint32_t need = virtio::kStatusDriverOk | virtio::kStatusFeaturesOk;
  return (status_ & need) == need && !(status_ & (virtio::kStatusNeedsReset | virtio::kStatusFailed));
}

void VirtioMmio::notify(uint32_t index) {
  if (index >= queues_.size() || !driver_ok()) return;
  VirtQueue& q = queues_[index];
  if (!q.ready() || q.broken()) return;
  device_.queue_notify(index, q);
  after_device_call();
}

void VirtioMmio::poll() {
  if (!driver_ok()) return;
  device_.poll(queues_);
  after_device_call();
}

bool VirtioMmio::has_host_work() { return driver_ok() && device_.has_host_work(queues_); }

void VirtioMmio::after_device_call() {
  uint32_t bits = 0;
  for (unsigned i = 0; i < queues_.size(); ++i) {
    if (queues_[i].take_interrupt()) bits |= virtio::kInterruptUsedBuffer;
    if (queues_[i].broken()) device_error("queue " + std::to_string(i) + ": " + queues_[i].error());
  }
  raise(bits);
}

void VirtioMmio::device_error(const std::string& why) {
  if (status_ & virtio::kStatusNeedsReset) return;
  error_ = why;
  status_ |= virtio::kStatusNeedsReset;
  if (status_ & virtio::kStatusDriverOk) raise(virtio::kInterruptConfigChange);
}

void VirtioMmio::config_changed() {
  ++config_generation_;
  if (status_ & virtio::kStatusDriverOk) raise(virtio::kInterruptConfigChange);
}

void VirtioMmio::raise(uint32_t bits) {
  interrupt_status_ |= bits;
  update_irq();
}

void VirtioMmio::update_irq() {
  // Only changes go to the line (the PLIC re-samples a claimed source's level on complete).
  const bool level = interrupt_status_ != 0;
  if (level == irq_level_) return;
  irq_level_ = level;
  irq_.set_level(level);
}

}  // namespace vmkit::devices
