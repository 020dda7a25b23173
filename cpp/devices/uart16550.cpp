// NS16550A UART, following qemu 7.2's hw/char/serial.c (serial_ioport_read/write, serial_xmit,
// serial_receive1, serial_update_irq); where it differs (no baud timing, the host input buffer, the
// poll-driven receive timeout) the header says why.
#include "devices/uart16550.h"

namespace vmkit::devices {

namespace {

enum Reg : unsigned { kRbrThr = 0, kIer = 1, kIirFcr = 2, kLcr = 3, kMcr = 4, kLsr = 5, kMsr = 6, kScr = 7 };

constexpr uint8_t kLcrDlab = 0x80;

constexpr uint8_t kIerRdi = 0x01, kIerThri = 0x02, kIerRlsi = 0x04, kIerMsi = 0x08;

constexpr uint8_t kIirNoInt = 0x01, kIirId = 0x06, kIirMsi = 0x00, kIirThri = 0x02, kIirRdi = 0x04,
                  kIirRlsi = 0x06, kIirCti = 0x0c, kIirFifoEnabled = 0xc0;

constexpr uint8_t kFcrEnable = 0x01, kFcrClearRx = 0x02, kFcrClearTx = 0x04;
constexpr uint8_t kFcrSticky = 0xc9;  // enable, DMA mode, rx trigger level

constexpr uint8_t kMcrLoop = 0x10, kMcrOut2 = 0x08, kMcrMask = 0x1f;

constexpr uint8_t kLsrDr = 0x01, kLsrOe = 0x02, kLsrBi = 0x10, kLsrThre = 0x20, kLsrTemt = 0x40;
constexpr uint8_t kLsrIntAny = 0x1e;  // OE, PE, FE, BI: the receiver line status interrupt

constexpr uint8_t kMsrDcd = 0x80, kMsrDsr = 0x20, kMsrCts = 0x10, kMsrAnyDelta = 0x0f;

}  // namespace

Uart16550::Uart16550(IrqLine& irq) : irq_(irq) { reset(); }

void Uart16550::reset() {
  rbr_ = 0;
  ier_ = 0;
  iir_ = kIirNoInt;
  lcr_ = 0;
  lsr_ = kLsrTemt | kLsrThre;
  // qemu's chardev back ends other than a host tty report no modem lines, so MSR keeps the reset
  // value: carrier, data set ready and clear to send all asserted.
  msr_ = kMsrDcd | kMsrDsr | kMsrCts;
  divisor_ = 0x0c;  // 9600 baud from the 1.8432 MHz clock
  mcr_ = kMcrOut2;
  scr_ = 0;
  fcr_ = 0;
  rx_trigger_ = 1;
  rx_fifo_.clear();
  thr_ipending_ = false;
  timeout_ipending_ = false;
  timeout_armed_ = timeout_aged_ = false;
  irq_level_ = false;
  irq_.set_level(false);
}

bool Uart16550::read(uint64_t offset, unsigned size, uint64_t& value) {
  if (size != 1 || offset >= kSize) return false;
  value = read_register(static_cast<unsigned>(offset & 7));
  return true;
}

bool Uart16550::write(uint64_t offset, unsigned size, uint64_t value) {
  if (size != 1 || offset >= kSize) return false;
  write_register(static_cast<unsigned>(offset & 7), static_cast<uint8_t>(value));
  return true;
}

void Uart16550::update_irq() {
  uint8_t id = kIirNoInt;
  if ((ier_ & kIerRlsi) && (lsr_ & kLsrIntAny)) {
    id = kIirRlsi;
  } else if ((ier_ & kIerRdi) && timeout_ipending_) {
    // IER.RDI also masks the timeout interrupt: not in the datasheet, but real parts do (qemu).
    id = kIirCti;
  } else if ((ier_ & kIerRdi) && (lsr_ & kLsrDr) &&
             (!(fcr_ & kFcrEnable) || rx_fifo_.size() >= rx_trigger_)) {
    id = kIirRdi;
  } else if ((ier_ & kIerThri) && thr_ipending_) {
    id = kIirThri;
  } else if ((ier_ & kIerMsi) && (msr_ & kMsrAnyDelta)) {
    id = kIirMsi;
  }
  iir_ = static_cast<uint8_t>(id | (iir_ & 0xf0));
  // Only changes go to the line: the PLIC keeps a claimed source's level and re-samples it on
  // complete, so repeating an unchanged level would tell it nothing.
  const bool level = id != kIirNoInt;
  if (level != irq_level_) {
    irq_level_ = level;
    irq_.set_level(level);
  }
}

uint8_t Uart16550::read_register(unsigned reg) {
  switch (reg) {
    case kRbrThr: {
      if (lcr_ & kLcrDlab) return static_cast<uint8_t>(divisor_ & 0xff);
      uint8_t value = 0;
      if (fcr_ & kFcrEnable) {
        value = rx_fifo_.empty() ? 0 : rx_fifo_.pop();
        if (rx_fifo_.empty()) {
          lsr_ &= static_cast<uint8_t>(~(kLsrDr | kLsrBi));
        } else {
          timeout_armed_ = true;  // qemu re-arms the timeout while bytes remain
          timeout_aged_ = false;
        }
        timeout_ipending_ = false;
      } else {
        value = rbr_;
        lsr_ &= static_cast<uint8_t>(~(kLsrDr | kLsrBi));
      }
      fill_from_host();  // qemu: qemu_chr_fe_accept_input, which lets the back end send more
      update_irq();
      return value;
    }
    case kIer:
      return (lcr_ & kLcrDlab) ? static_cast<uint8_t>(divisor_ >> 8) : ier_;
    case kIirFcr: {
      const uint8_t value = iir_;
      // Reading IIR while it reports THRE acknowledges that interrupt.
      if ((value & kIirId) == kIirThri) {
        thr_ipending_ = false;
        update_irq();
      }
      return value;
    }
    case kLcr:
      return lcr_;
    case kMcr:
      return mcr_;
    case kLsr: {
      fill_from_host();  // so a polling driver sees DR as soon as host input is there
      const uint8_t value = lsr_;
      if (lsr_ & (kLsrBi | kLsrOe)) {  // break and overrun clear on read
        lsr_ &= static_cast<uint8_t>(~(kLsrBi | kLsrOe));
        update_irq();
      }
      return value;
    }
    case kMsr: {
      if (mcr_ & kMcrLoop) {
        // Loopback wires the modem outputs to the inputs: OUT2->DCD, OUT1->RI, RTS->CTS, DTR->DSR.
        return static_cast<uint8_t>(((mcr_ & 0x0c) << 4) | ((mcr_ & 0x02) << 3) | ((mcr_ & 0x01) << 5));
      }
      const uint8_t value = msr_;
      if (msr_ & kMsrAnyDelta) {
        msr_ &= 0xf0;
        update_irq();
      }
      return value;
    }
    default:  // kScr
      return scr_;
  }
}

void Uart16550::write_register(unsigned reg, uint8_t value) {
  switch (reg) {
    case kRbrThr:
      if (lcr_ & kLcrDlab) {
        divisor_ = static_cast<uint16_t>((divisor_ & 0xff00) | value);
      } else {
        transmit(value);
      }
      return;
    case kIer: {
      if (lcr_ & kLcrDlab) {
        divisor_ = static_cast<uint16_t>((divisor_ & 0x00ff) | (value << 8));
        return;
      }
      const uint8_t changed = (ier_ ^ value) & 0x0f;
      ier_ = value & 0x0f;
      // Turning IER.THRI on while THR is empty raises THRE at once, even after an IIR read had
      // acknowledged it (Windows relies on it; Linux's THRE re-assertion test checks it).
      if (changed & kIerThri) thr_ipending_ = (ier_ & kIerThri) && (lsr_ & kLsrThre);
      if (changed) update_irq();
      return;
    }
    case kIirFcr:
      write_fcr(value);
      return;
    case kLcr:
      lcr_ = value;
      return;
    case kMcr:
      mcr_ = value & kMcrMask;
      return;
    case kLsr:
    case kMsr:
      return;  // read only
    default:  // kScr
      scr_ = value;
      return;
  }
}

void Uart16550::write_fcr(uint8_t value) {
  // Switching the FIFOs on or off flushes both.
  if ((value ^ fcr_) & kFcrEnable) value |= kFcrClearRx | kFcrClearTx;
  if (value & kFcrClearRx) {
    lsr_ &= static_cast<uint8_t>(~(kLsrDr | kLsrBi));
    timeout_armed_ = timeout_aged_ = false;
    timeout_ipending_ = false;
    rx_fifo_.clear();
  }
  if (value & kFcrClearTx) {
    lsr_ |= kLsrThre;
    thr_ipending_ = true;
  }
  fcr_ = value & kFcrSticky;
  if (fcr_ & kFcrEnable) {
    iir_ |= kIirFifoEnabled;
    static constexpr size_t kTriggerLevels[4] = {1, 4, 8, 14};
    rx_trigger_ = kTriggerLevels[fcr_ >> 6];
  } else {
    iir_ &= static_cast<uint8_t>(~kIirFifoEnabled);
  }
  update_irq();
}

void Uart16550::transmit(uint8_t byte) {
  // qemu's THR write then serial_xmit: THR and TSR are busy only for the duration of the call, so
  // the result is THRE set with its interrupt condition, the byte delivered, and TEMT set.
  lsr_ |= kLsrThre;
  thr_ipending_ = true;
  update_irq();
  if (mcr_ & kMcrLoop) {
    receive_byte(byte);
  } else if (on_transmit) {
    on_transmit(byte);
  }
  lsr_ |= kLsrTemt;
}

void Uart16550::receive_byte(uint8_t byte) {
  if (fcr_ & kFcrEnable) {
    // An overrun keeps the FIFO's contents and drops the new byte.
    if (rx_fifo_.full()) lsr_ |= kLsrOe;
    else rx_fifo_.push(byte);
    lsr_ |= kLsrDr;
    timeout_armed_ = true;
    timeout_aged_ = false;
  } else {
    if (lsr_ & kLsrDr) lsr_ |= kLsrOe;
    rbr_ = byte;
    lsr_ |= kLsrDr;
  }
  update_irq();
}

void Uart16550::fill_from_host() {
  // In loopback the receiver listens to the transmitter only; host input waits.
  if ((mcr_ & kMcrLoop) || host_count_.load(std::memory_order_acquire) == 0) return;
  bool moved = false;
  {
    std::lock_guard<std::mutex> lock(host_mu_);
    if (fcr_ & kFcrEnable) {
      while (!rx_fifo_.full() && !host_input_.empty()) {
        rx_fifo_.push(host_input_.front());
        host_input_.pop_front();
        moved = true;
      }
    } else if (!(lsr_ & kLsrDr) && !host_input_.empty()) {
      rbr_ = host_input_.front();
      host_input_.pop_front();
      moved = true;
    }
    host_count_.store(host_input_.size(), std::memory_order_release);
  }
  if (!moved) return;
  lsr_ |= kLsrDr;
  if (fcr_ & kFcrEnable) {
    timeout_armed_ = true;
    timeout_aged_ = false;
  }
  update_irq();
}

void Uart16550::receive(const uint8_t* data, size_t size) {
  if (size == 0) return;
  {
    std::lock_guard<std::mutex> lock(host_mu_);
    host_input_.insert(host_input_.end(), data, data + size);
    host_count_.store(host_input_.size(), std::memory_order_release);
  }
  if (on_input) on_input();
}

bool Uart16550::has_pending_input() const { return host_count_.load(std::memory_order_acquire) != 0; }

bool Uart16550::has_deliverable_input() const {
  if ((mcr_ & kMcrLoop) || !has_pending_input()) return false;
  return (fcr_ & kFcrEnable) ? !rx_fifo_.full() : !(lsr_ & kLsrDr);
}

void Uart16550::poll() {
  if (timeout_armed_ && timeout_aged_) {
    timeout_armed_ = timeout_aged_ = false;
    if (!rx_fifo_.empty()) {
      timeout_ipending_ = true;
      update_irq();
    }
  }
  fill_from_host();
  if (timeout_armed_) timeout_aged_ = true;
}

}  // namespace vmkit::devices
