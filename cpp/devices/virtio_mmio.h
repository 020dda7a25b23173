// Virtio over MMIO (virtio spec 1.1 §4.2.2, version 2, non-legacy) with split virtqueues (§2.6):
// the transport that qemu's virt board puts at 0x10001000 + 0x1000 i, and the virtqueue helper the
// device models use.
//
//   VirtioDevice  what a device type implements (id, features, config space, queue handling).
//   VirtQueue     one split virtqueue in guest RAM: takes available descriptor chains (checking
//                 every address, length and index the guest wrote), copies to and from the chain's
//                 buffers, and returns chains through the used ring.
//   VirtioMmio    the register window: feature negotiation, device status, queue setup, notify,
//                 interrupt status/ack; it owns the queues and drives the device's interrupt line.
//
// A guest that breaks the ring rules (a descriptor index past the queue, a loop, a buffer outside
// RAM, a bad indirect table ...) gets what the spec prescribes for a device error: the transport
// sets DEVICE_NEEDS_RESET in Status, raises a configuration change interrupt and ignores the
// device's queues until the driver resets it. Nothing the guest writes can make the host read or
// write outside guest RAM.
//
// Threads: everything runs on the CPU thread (register accesses, notifies, poll() at slice ends).
// Device back ends that get host input on other threads queue it and hand it over in poll(); the
// device models here complete every request synchronously inside the notify.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "devices/device.h"
#include "mmu/phys_memory.h"

namespace vmkit::devices {

namespace virtio {
// Device status bits (§2.1).
constexpr uint32_t kStatusAcknowledge = 1, kStatusDriver = 2, kStatusDriverOk = 4, kStatusFeaturesOk = 8,
                   kStatusNeedsReset = 64, kStatusFailed = 128;
// Reserved feature bits (§6) the transport and its virtqueues implement.
constexpr uint64_t kFRingIndirectDesc = 1ull << 28;
constexpr uint64_t kFRingEventIdx = 1ull << 29;  // not offered
constexpr uint64_t kFVersion1 = 1ull << 32;
// InterruptStatus bits.
constexpr uint32_t kInterruptUsedBuffer = 1, kInterruptConfigChange = 2;
// Device ids (§5).
constexpr uint32_t kDeviceNet = 1, kDeviceBlock = 2, kDeviceConsole = 3;
}  // namespace virtio

// One split virtqueue (§2.6): descriptor table, available (driver) ring and used (device) ring in
// guest RAM. The transport configures it; the device pops chains, moves data and pushes them back.
class VirtQueue {
 public:
  static constexpr uint16_t kMaxSize = 32768;  // the spec's limit for split queues

  // A guest buffer: `len` bytes of RAM at `paddr` (checked to be RAM when the chain was popped).
  struct Buffer {
    uint64_t paddr = 0;
    uint32_t len = 0;
  };
  // A descriptor chain taken from the available ring: the device-readable buffers, then the
  // device-writable ones (the spec's order; a chain breaking it is a device error).
  struct Chain {
    uint16_t head = 0;  // the descriptor index that goes back in the used ring
    std::vector<Buffer> readable;
    std::vector<Buffer> writable;
    uint64_t readable_bytes = 0;
    uint64_t writable_bytes = 0;
  };

  VirtQueue(PhysicalMemory& ram, uint16_t max_size);

  // Configuration, written by the transport while the queue is not ready.
  uint16_t max_size() const { return max_size_; }
  // QueueNum as the driver wrote it (enable() checks it).
  uint32_t size() const { return size_; }
  uint64_t desc_addr = 0;
  uint64_t driver_addr = 0;  // the available ring
  uint64_t device_addr = 0;  // the used ring
  void set_size(uint32_t n) { size_ = n; }
  bool indirect_allowed = false;  // VIRTIO_F_RING_INDIRECT_DESC was negotiated

  // Makes the queue live: checks the size (a power of 2 up to max_size) and that the three areas
  // are aligned and in RAM, and starts at index 0. false (with error()) if not.
  bool enable();
  void disable();
  bool ready() const { return ready_; }
  // Back to the power-on state (not ready, size max_size, addresses 0, no error).
  void reset();

  // Takes the next available chain into `out`. false when none is available, or when the queue
  // is broken (then error() says why; the transport reports it to the driver).
  bool pop(Chain& out);
  // Whether pop() would find a chain (without taking it).
  bool has_available();
  // Returns a chain to the driver with `written` bytes written into its writable buffers.
  void push(const Chain& chain, uint32_t written);

  // Copies between the chain's buffers and the host. Offsets count from the start of the readable
  // (read) or writable (write) buffers taken together; both return how many bytes fit.
  size_t read(const Chain& chain, uint64_t offset, void* out, size_t len) const;
  size_t write(const Chain& chain, uint64_t offset, const void* data, size_t len);
  // Host pointers for [offset, offset + len) of the readable or writable buffers, one per piece,
  // for scatter-gather I/O straight into guest RAM. writable_pieces() treats the pages as written
  // (translated code on them is dropped first), so use what it returns only for writing. false if
  // the buffers hold fewer bytes.
  struct Piece {
    uint8_t* host = nullptr;
    size_t len = 0;
  };
  bool readable_pieces(const Chain& chain, uint64_t offset, uint64_t len, std::vector<Piece>& out) const;
  bool writable_pieces(const Chain& chain, uint64_t offset, uint64_t len, std::vector<Piece>& out);

  // Set by push() when the driver wants to hear about used buffers (it did not set
  // VIRTQ_AVAIL_F_NO_INTERRUPT); the transport takes it after each device call.
  bool take_interrupt() {
    bool v = interrupt_;
    interrupt_ = false;
    return v;
  }
  // A device error: the ring is unusable until reset. The device may call it too, for a request
  // it cannot parse.
  void fail(const std::string& why);
  bool broken() const { return !error_.empty(); }
  const std::string& error() const { return error_; }

  uint16_t last_avail() const { return last_avail_; }
  uint16_t used_idx() const { return used_idx_; }

 private:
  bool add_buffer(Chain& out, uint64_t addr, uint32_t len, bool writable);
  bool walk_indirect(Chain& out, uint64_t table, uint32_t table_len);
  uint16_t load16(uint64_t paddr) const;  // paddr in RAM (checked by enable())
  void store(uint64_t paddr, const void* data, size_t len);  // into RAM, dropping translated code

  PhysicalMemory& ram_;
  uint16_t max_size_;
  uint32_t size_;
  bool ready_ = false;
  uint16_t last_avail_ = 0;  // the next available ring entry to take
  uint16_t used_idx_ = 0;    // the used ring's idx as the device last wrote it
  bool interrupt_ = false;
  std::string error_;
};

// What a virtio device type implements; the transport (VirtioMmio) calls it on the CPU thread.
class VirtioDevice {
 public:
  virtual ~VirtioDevice() = default;
  virtual const char* name() const = 0;
  virtual uint32_t device_id() const = 0;
  // Device-type feature bits (0..23 and any others the device implements). The transport adds
  // VIRTIO_F_VERSION_1 and the ring features it implements.
  virtual uint64_t device_features() const = 0;
  // The driver accepted `features` (FEATURES_OK): a subset of what was offered.
  virtual void features_negotiated(uint64_t features) { (void)features; }
  virtual unsigned queue_count() const = 0;
  virtual uint16_t queue_max_size(unsigned queue) const = 0;
  // Device configuration space (offset 0x100 of the MMIO window): `size` (1 to 8) bytes at
  // `offset`, little-endian, always inside config_size() (the transport reads the bytes past it as
  // 0 and drops writes to them).
  virtual uint32_t config_size() const = 0;
  virtual void read_config(uint32_t offset, uint8_t* out, unsigned size) = 0;
  virtual void write_config(uint32_t offset, const uint8_t* data, unsigned size) {
    (void)offset, (void)data, (void)size;
  }
  // The driver made buffers available in `queue` (a QueueNotify, once DRIVER_OK is set).
  virtual void queue_notify(unsigned queue, VirtQueue& q) = 0;
  // CPU thread, at slice ends, while DRIVER_OK is set: work that did not come from a notify (host
  // input). `queues` are the device's queues (live or not).
  virtual void poll(std::vector<VirtQueue>& queues) { (void)queues; }
  // CPU thread: poll() would do something now (host input waits and the driver gave buffers for
  // it). A machine deciding whether a hart in WFI may sleep asks this.
  virtual bool has_host_work(std::vector<VirtQueue>& queues) {
    (void)queues;
    return false;
  }
  // Device state back to power-on (driver reset or machine reset).
  virtual void reset() {}
};

// The virtio-mmio register window (0x1000 bytes). The control registers (0x000..0x0ff) decode only
// aligned 32-bit accesses, as the spec allows; the configuration space from 0x100 takes 1, 2, 4 and
// 8-byte accesses.
class VirtioMmio : public Device {
 public:
  static constexpr uint64_t kSize = 0x1000;
  static constexpr uint32_t kMagic = 0x74726976;  // "virt"
  static constexpr uint32_t kVersion = 2;
  static constexpr uint32_t kVendorId = 0x4b4d5456;  // "VTMK"
  // Register offsets (§4.2.2).
  enum : uint32_t {
    kRegMagicValue = 0x000, kRegVersion = 0x004, kRegDeviceId = 0x008, kRegVendorId = 0x00c,
    kRegDeviceFeatures = 0x010, kRegDeviceFeaturesSel = 0x014, kRegDriverFeatures = 0x020,
    kRegDriverFeaturesSel = 0x024, kRegQueueSel = 0x030, kRegQueueNumMax = 0x034, kRegQueueNum = 0x038,
    kRegQueueReady = 0x044, kRegQueueNotify = 0x050, kRegInterruptStatus = 0x060, kRegInterruptAck = 0x064,
    kRegStatus = 0x070, kRegQueueDescLow = 0x080, kRegQueueDescHigh = 0x084, kRegQueueDriverLow = 0x090,
    kRegQueueDriverHigh = 0x094, kRegQueueDeviceLow = 0x0a0, kRegQueueDeviceHigh = 0x0a4, kRegShmSel = 0x0ac,
    kRegShmLenLow = 0x0b0, kRegShmLenHigh = 0x0b4, kRegShmBaseLow = 0x0b8, kRegShmBaseHigh = 0x0bc,
    kRegConfigGeneration = 0x0fc, kRegConfig = 0x100,
  };

  // `device` must outlive the transport; `irq` is the transport's interrupt line (a PLIC source).
  VirtioMmio(PhysicalMemory& ram, IrqLine& irq, VirtioDevice& device);
  VirtioMmio(const VirtioMmio&) = delete;
  VirtioMmio& operator=(const VirtioMmio&) = delete;

  const char* name() const override { return "virtio-mmio"; }
  bool read(uint64_t offset, unsigned size, uint64_t& value) override;
  bool write(uint64_t offset, unsigned size, uint64_t value) override;
  // A device reset (what writing 0 to Status does): status, features, queues and interrupts
  // cleared, and the device's own state reset.
  void reset() override;

  // CPU thread, at slice ends: lets the device do host-driven work (VirtioDevice::poll).
  void poll();
  // poll() would deliver something now (VirtioDevice::has_host_work, once DRIVER_OK is set).
  bool has_host_work();
  // The device's configuration changed (capacity, console size ...): bumps ConfigGeneration and
  // raises the configuration change interrupt.
  void config_changed();

  VirtioDevice& device() { return device_; }
  VirtQueue& queue(unsigned index) { return queues_.at(index); }
  uint32_t status() const { return status_; }
  uint32_t interrupt_status() const { return interrupt_status_; }
  uint64_t driver_features() const { return driver_features_; }
  // Every feature the transport offers: the device's plus VERSION_1 and INDIRECT_DESC.
  uint64_t offered_features() const;
  // Why the device set DEVICE_NEEDS_RESET (empty if it has not).
  const std::string& error() const { return error_; }

 private:
  uint32_t read_register(uint32_t offset);
  void write_register(uint32_t offset, uint32_t value);
  void write_status(uint32_t value);
  void notify(uint32_t queue);
  // DRIVER_OK and FEATURES_OK set, no device error, not FAILED: the queues may be used.
  bool driver_ok() const;
  // After any device call: collects the queues' interrupts and errors.
  void after_device_call();
  void device_error(const std::string& why);
  void raise(uint32_t bits);
  void update_irq();
  VirtQueue* selected_queue();  // the queue QueueSel names, or nullptr

  PhysicalMemory& ram_;
  IrqLine& irq_;
  VirtioDevice& device_;
  std::vector<VirtQueue> queues_;
  uint32_t status_ = 0;
  uint32_t device_features_sel_ = 0;
  uint32_t driver_features_sel_ = 0;
  uint64_t driver_features_ = 0;
  uint32_t queue_sel_ = 0;
  uint32_t interrupt_status_ = 0;
  uint32_t config_generation_ = 0;
  bool irq_level_ = false;
  std::string error_;
};

}  // namespace vmkit::devices
