#include "devices/virtio_blk.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/errors.h"

namespace vmkit::devices {

using namespace virtio_blk;

namespace {

// struct virtio_blk_config offsets (§5.2.4).
constexpr uint32_t kCfgCapacity = 0, kCfgSegMax = 12, kCfgBlkSize = 20;

// A request header: le32 type, le32 reserved (ioprio), le64 sector.
constexpr uint64_t kHeaderBytes = 16;

void put32(uint8_t* at, uint32_t v) { std::memcpy(at, &v, 4); }
void put64(uint8_t* at, uint64_t v) { std::memcpy(at, &v, 8); }

}  // namespace

VirtioBlk::VirtioBlk(const std::string& path, bool readonly) : path_(path), readonly_(readonly) {
  const std::string what = "disk image '" + path + "'";
  struct stat st{};
  // Looked at before open(): opening a FIFO would block until a writer came.
  if (::stat(path.c_str(), &st) != 0) throw BootError(what + ": " + std::strerror(errno));
  if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
    throw BootError(what + " is not a regular file or block device: give the path of an image file");
  fd_ = ::open(path.c_str(), (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
  if (fd_ < 0) {
    const int e = errno;
    if (!readonly && (e == EACCES || e == EROFS || e == EPERM))
      throw BootError(what + " is not writable (" + std::strerror(e) +
                      "): make it writable, or add the disk read-only");
    throw BootError(what + ": " + std::strerror(e));
  }
  const off_t end = ::lseek(fd_, 0, SEEK_END);
  if (end < 0) {
    const int e = errno;
    ::close(fd_);
    throw BootError(what + ": cannot find its size: " + std::strerror(e));
  }
  size_ = static_cast<uint64_t>(end);
  if (size_ % kSectorSize) {
    ::close(fd_);
    throw BootError(what + " is " + std::to_string(size_) + " bytes, not a whole number of 512-byte sectors: " +
                    "pad it (truncate -s %512 '" + path + "')");
  }
  put64(config_ + kCfgCapacity, capacity_sectors());
  put32(config_ + kCfgSegMax, kSegMax);
  put32(config_ + kCfgBlkSize, kSectorSize);
  // The device ID (GET_ID, the guest's /sys/block/vdX/serial): the image's file name, NUL-padded.
  const std::string base = path.substr(path.find_last_of('/') + 1);
  std::memcpy(id_, base.data(), std::min<size_t>(base.size(), kIdBytes));
}

VirtioBlk::~VirtioBlk() {
  if (fd_ < 0) return;
  if (!readonly_) ::fdatasync(fd_);
  ::close(fd_);
}

uint64_t VirtioBlk::device_features() const { return kFSegMax | kFBlkSize | kFFlush | (readonly_ ? kFRo : 0); }

void VirtioBlk::read_config(uint32_t offset, uint8_t* out, unsigned size) {
  std::memcpy(out, config_ + offset, std::min<uint64_t>(size, sizeof config_ - offset));
}

void VirtioBlk::queue_notify(unsigned, VirtQueue& q) {
  VirtQueue::Chain c;
  while (q.pop(c)) {
    // The status byte is the last writable byte, the header the first 16 readable ones (the spec
    // fixes no framing: Linux sends them as separate descriptors, others need not).
    if (c.readable_bytes < kHeaderBytes || c.writable_bytes < 1) {
      q.fail("virtio-blk request " + std::to_string(c.head) + " has no header or no status byte");
      return;
    }
    uint32_t written = 1;
    const uint8_t status = serve(q, c, written);
    q.write(c, c.writable_bytes - 1, &status, 1);
    q.push(c, written);
  }
}

bool VirtioBlk::range_ok(uint64_t sector, uint64_t len) const {
  const uint64_t sectors = capacity_sectors();
  return len % kSectorSize == 0 && sector <= sectors && len / kSectorSize <= sectors - sector;
}

uint8_t VirtioBlk::serve(VirtQueue& q, VirtQueue::Chain& c, uint32_t& written) {
  uint8_t header[kHeaderBytes];
  q.read(c, 0, header, sizeof header);
  uint32_t type;
  uint64_t sector;
  std::memcpy(&type, header, 4);
  std::memcpy(&sector, header + 8, 8);
  const uint64_t in_bytes = c.writable_bytes - 1;  // the room before the status byte
  switch (type) {
    case kTIn: {
      ++stats_.reads;
      written = static_cast<uint32_t>(std::min<uint64_t>(c.writable_bytes, UINT32_MAX));
      if (!range_ok(sector, in_bytes)) break;
      const uint8_t s = transfer(q, c, sector, true, in_bytes);
      if (s == kSOk) stats_.bytes_read += in_bytes;
      return s;
    }
    case kTOut: {
      ++stats_.writes;
      const uint64_t out_bytes = c.readable_bytes - kHeaderBytes;
      if (readonly_ || !range_ok(sector, out_bytes)) break;
      const uint8_t s = transfer(q, c, sector, false, out_bytes);
      if (s == kSOk) stats_.bytes_written += out_bytes;
      return s;
    }
    case kTFlush:
      ++stats_.flushes;
      if (!readonly_ && ::fdatasync(fd_) != 0) break;
      return kSOk;
    case kTGetId: {
      ++stats_.get_ids;
      const uint64_t n = std::min<uint64_t>(in_bytes, kIdBytes);
      q.write(c, 0, id_, n);
      written = static_cast<uint32_t>(n + 1);
      return kSOk;
    }
    default:
      ++stats_.unsupported;
      return kSUnsupp;
  }
  ++stats_.errors;
  return kSIoErr;
}

uint8_t VirtioBlk::transfer(VirtQueue& q, VirtQueue::Chain& c, uint64_t sector, bool to_guest, uint64_t len) {
  const bool ok =
      to_guest ? q.writable_pieces(c, 0, len, pieces_) : q.readable_pieces(c, kHeaderBytes, len, pieces_);
  if (!ok) {
    ++stats_.errors;
    return kSIoErr;
  }
  uint64_t at = sector * kSectorSize;
  for (const VirtQueue::Piece& p : pieces_) {
    for (size_t done = 0; done < p.len;) {
      const ssize_t n = to_guest ? ::pread(fd_, p.host + done, p.len - done, static_cast<off_t>(at))
                                 : ::pwrite(fd_, p.host + done, p.len - done, static_cast<off_t>(at));
      if (n < 0 && errno == EINTR) continue;
      // n == 0: the file shrank under the guest.
      if (n <= 0) {
        ++stats_.errors;
        return kSIoErr;
      }
      done += static_cast<size_t>(n);
      at += static_cast<uint64_t>(n);
    }
  }
  return kSOk;
}

}  // namespace vmkit::devices
