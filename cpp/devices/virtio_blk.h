// A virtio block device (virtio 1.1 §5.2) backed by a host image file: one request queue, requests
// IN (read), OUT (write), FLUSH (fdatasync) and GET_ID, completed synchronously with pread/pwrite
// inside the queue notify. Writes go to the file as the guest makes them; FLUSH and destruction
// make them durable.
//
// Offered features: SEG_MAX, BLK_SIZE (512), FLUSH, and RO for a read-only disk (whose OUT requests
// then fail with IOERR). Capacity is the file size in 512-byte sectors.
#pragma once

#include <cstdint>
#include <string>

#include "devices/virtio_mmio.h"

namespace vmkit::devices {

namespace virtio_blk {
// Feature bits (§5.2.3).
constexpr uint64_t kFSizeMax = 1ull << 1, kFSegMax = 1ull << 2, kFGeometry = 1ull << 4, kFRo = 1ull << 5,
                   kFBlkSize = 1ull << 6, kFFlush = 1ull << 9, kFTopology = 1ull << 10, kFConfigWce = 1ull << 11,
                   kFDiscard = 1ull << 13, kFWriteZeroes = 1ull << 14;
// Request types and status values (§5.2.6).
constexpr uint32_t kTIn = 0, kTOut = 1, kTFlush = 4, kTGetId = 8, kTDiscard = 11, kTWriteZeroes = 13;
constexpr uint8_t kSOk = 0, kSIoErr = 1, kSUnsupp = 2;
constexpr uint32_t kSectorSize = 512;
constexpr uint32_t kIdBytes = 20;  // GET_ID's answer
}  // namespace virtio_blk

class VirtioBlk : public VirtioDevice {
 public:
  static constexpr uint16_t kQueueSize = 256;
  // Data segments per request: the rest of the ring after the header and status descriptors, so a
  // request fits in the ring even without indirect descriptors.
  static constexpr uint32_t kSegMax = kQueueSize - 2;

  // Opens the image. BootError if it is missing or unreadable, not writable (unless `readonly`),
  // not a regular file or block device, or not a whole number of 512-byte sectors.
  VirtioBlk(const std::string& path, bool readonly);
  ~VirtioBlk() override;  // flushes writes to the file and closes it
  VirtioBlk(const VirtioBlk&) = delete;
  VirtioBlk& operator=(const VirtioBlk&) = delete;

  const char* name() const override { return "virtio-blk"; }
  uint32_t device_id() const override { return virtio::kDeviceBlock; }
  uint64_t device_features() const override;
  unsigned queue_count() const override { return 1; }
  uint16_t queue_max_size(unsigned) const override { return kQueueSize; }
  uint32_t config_size() const override { return sizeof config_; }
  void read_config(uint32_t offset, uint8_t* out, unsigned size) override;
  void queue_notify(unsigned queue, VirtQueue& q) override;

  const std::string& path() const { return path_; }
  bool readonly() const { return readonly_; }
  uint64_t capacity_sectors() const { return size_ / virtio_blk::kSectorSize; }

  // Requests served, by kind, and those answered with IOERR or UNSUPP.
  struct Stats {
    uint64_t reads = 0, writes = 0, flushes = 0, get_ids = 0, bytes_read = 0, bytes_written = 0, errors = 0,
             unsupported = 0;
  };
  const Stats& stats() const { return stats_; }

 private:
  // One request: the chain's status byte, and the bytes written into the writable buffers.
  uint8_t serve(VirtQueue& q, VirtQueue::Chain& c, uint32_t& written);
  uint8_t transfer(VirtQueue& q, VirtQueue::Chain& c, uint64_t sector, bool to_guest, uint64_t len);
  bool range_ok(uint64_t sector, uint64_t len) const;

  std::string path_;
  bool readonly_;
  int fd_ = -1;
  uint64_t size_ = 0;  // bytes
  uint8_t config_[60] = {};  // struct virtio_blk_config up to max_write_zeroes_seg and its padding
  char id_[virtio_blk::kIdBytes] = {};
  Stats stats_;
  std::vector<VirtQueue::Piece> pieces_;  // scratch for transfer()
};

}  // namespace vmkit::devices
