// The NS16550A UART of qemu's virt board, modelled on qemu 7.2's hw/char/serial.c closely enough
// that Linux's 8250 driver detects a 16550A (autoconfig's IER, loopback/MSR, IIR FIFO and EFR
// probes) and that its interrupt-driven receive and transmit paths behave as under qemu.
//
// Registers at offsets 0..7 (reg-shift 0; qemu aliases the rest of the 0x100 window onto them),
// 1-byte accesses only, which is what Linux's of_serial (UPIO_MEM), OpenSBI and earlycon use for a
// "ns16550a" node without reg-io-width; other widths do not decode.
//
// Transmit has no baud-rate timing: a byte written to THR goes straight to on_transmit (or, in MCR
// loopback mode, to the receiver), and THR/TSR are empty again at once.
//
// Receive: receive() may be called from any thread (the host console). Bytes wait in an unbounded
// host-side buffer and move into the 16-byte rx FIFO, on the CPU thread, whenever it has room: when
// the guest reads RBR or LSR and in poll(). So input is never lost to an overrun however slowly the
// guest reads. The receive-timeout interrupt (qemu: four character times after the last rx FIFO
// event) comes from the first poll() that starts a whole slice or more after that event.
//
// Everything but receive(), has_pending_input() and on_input runs on the CPU thread.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>

#include "devices/device.h"

namespace vmkit::devices {

class Uart16550 : public Device {
 public:
  static constexpr uint64_t kSize = 0x100;
  static constexpr size_t kFifoSize = 16;

  // `irq`: the line the UART drives (its PLIC source).
  explicit Uart16550(IrqLine& irq);
  Uart16550(const Uart16550&) = delete;
  Uart16550& operator=(const Uart16550&) = delete;

  const char* name() const override { return "uart16550"; }
  bool read(uint64_t offset, unsigned size, uint64_t& value) override;
  bool write(uint64_t offset, unsigned size, uint64_t value) override;
  // Registers back to their power-on values and both FIFOs emptied. Bytes still in the host buffer
  // stay there: they are the console's, not the UART's.
  void reset() override;

  // Every byte the guest transmits (CPU thread). Unset: output is dropped.
  std::function<void(uint8_t)> on_transmit;
  // Called on receive()'s thread after bytes were queued, so the machine can wake a hart sleeping
  // in WFI (HartLines::kick) and get poll() called soon.
  std::function<void()> on_input;

  // Host input (any thread).
  void receive(const uint8_t* data, size_t size);
  // Bytes received from the host that have not reached the rx FIFO yet (any thread).
  bool has_pending_input() const;
  // CPU thread: host bytes are waiting and the receiver has room for them, so poll() would deliver
  // some. A machine deciding whether a hart in WFI may sleep should ask this rather than
  // has_pending_input(): input the guest is not reading (FIFO full, or loopback) must not keep it
  // awake.
  bool has_deliverable_input() const;

  // CPU thread, at slice ends: fires a due receive timeout and moves host bytes into the rx FIFO.
  void poll();

  bool irq_level() const { return irq_level_; }  // the level last driven on the IrqLine

 private:
  // The rx FIFO. (There is no tx FIFO to model: transmission is instant, so it is always empty.)
  class Fifo {
   public:
    bool empty() const { return count_ == 0; }
    bool full() const { return count_ == kFifoSize; }
    size_t size() const { return count_; }
    void push(uint8_t b) {
      bytes_[(head_ + count_) % kFifoSize] = b;
      ++count_;
    }
    uint8_t pop() {
      const uint8_t b = bytes_[head_];
      head_ = (head_ + 1) % kFifoSize;
      --count_;
      return b;
    }
    void clear() { head_ = count_ = 0; }

   private:
    std::array<uint8_t, kFifoSize> bytes_{};
    size_t head_ = 0;
    size_t count_ = 0;
  };

  uint8_t read_register(unsigned reg);
  void write_register(unsigned reg, uint8_t value);
  void write_fcr(uint8_t value);
  void transmit(uint8_t byte);      // a THR write
  void receive_byte(uint8_t byte);  // a byte arriving at the receiver (host or loopback)
  void fill_from_host();            // moves host bytes into the receiver while it has room
  void update_irq();

  IrqLine& irq_;
  bool irq_level_ = false;

  // Registers, named as in the datasheet and serial.c.
  uint8_t rbr_ = 0;  // the receive buffer when the FIFOs are off
  uint8_t ier_ = 0;
  uint8_t iir_ = 0;
  uint8_t lcr_ = 0;
  uint8_t mcr_ = 0;
  uint8_t lsr_ = 0;
  uint8_t msr_ = 0;
  uint8_t scr_ = 0;
  uint8_t fcr_ = 0;  // the bits that stick: FIFO enable, DMA mode, rx trigger level
  uint16_t divisor_ = 0;
  size_t rx_trigger_ = 1;
  Fifo rx_fifo_;
  bool thr_ipending_ = false;      // THRE interrupt condition (cleared by an IIR read naming it)
  bool timeout_ipending_ = false;  // character timeout interrupt condition
  // qemu's fifo_timeout_timer, counted in poll() calls: an rx FIFO event arms it (not aged), the end
  // of a poll() ages it, the start of a poll() fires an aged one: at least a full slice later.
  bool timeout_armed_ = false;
  bool timeout_aged_ = false;

  mutable std::mutex host_mu_;
  std::deque<uint8_t> host_input_;  // guarded by host_mu_
  // host_input_.size(), readable without the lock: LSR is polled per transmitted byte by console
  // drivers, and most of those reads find no input.
  std::atomic<size_t> host_count_{0};
};

}  // namespace vmkit::devices
