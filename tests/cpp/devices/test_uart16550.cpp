// NS16550A: the register-level behaviour Linux's 8250 driver depends on. Its autoconfig() and
// size_fifo() probes are replayed step by step from drivers/tty/serial/8250/8250_port.c, as is the
// startup THRE test; then transmit, receive through the host buffer, the FIFO trigger and timeout
// interrupts, IIR priorities, loopback, and the wiring to a PLIC source.
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "devices/plic.h"
#include "devices/uart16550.h"

namespace vmkit::devices {
namespace {

// Register offsets and bits as Linux's serial_reg.h names them.
enum : unsigned { RX = 0, TX = 0, DLL = 0, IER = 1, DLM = 1, IIR = 2, FCR = 2, EFR = 2, LCR = 3, MCR = 4,
                  LSR = 5, MSR = 6, SCR = 7 };
constexpr uint8_t kIerRdi = 0x01, kIerThri = 0x02, kIerRlsi = 0x04, kIerUue = 0x40;
constexpr uint8_t kIirNoInt = 0x01, kIirThri = 0x02, kIirRdi = 0x04, kIirRlsi = 0x06, kIirCti = 0x0c;
constexpr uint8_t kFcrEnable = 0x01, kFcrClearRx = 0x02, kFcrClearTx = 0x04, kFcr7_64Byte = 0x20,
                  kFcrTrigger8 = 0x80;
constexpr uint8_t kLcrDlab = 0x80, kLcrConfModeA = 0x80, kLcrConfModeB = 0xbf, kLcrWlen8 = 0x03;
constexpr uint8_t kMcrLoop = 0x10;
constexpr uint8_t kLsrDr = 0x01, kLsrOe = 0x02, kLsrThre = 0x20, kLsrTemt = 0x40;

struct FakeIrq : IrqLine {
  void set_level(bool high) override {
    level = high;
    ++calls;
  }
  std::atomic<bool> level{false};
  std::atomic<int> calls{0};
};

// A UART with its interrupt line and transmit sink, and Linux's serial_in/serial_out.
struct Rig {
  Rig() {
    uart.on_transmit = [this](uint8_t b) { sent.push_back(static_cast<char>(b)); };
  }
  uint8_t in(unsigned reg) {
    uint64_t v = 0;
    EXPECT_TRUE(uart.read(reg, 1, v)) << reg;
    EXPECT_LE(v, 0xffu);
    return static_cast<uint8_t>(v);
  }
  void out(unsigned reg, uint8_t v) { EXPECT_TRUE(uart.write(reg, 1, v)) << reg; }
  void feed(const std::string& s) { uart.receive(reinterpret_cast<const uint8_t*>(s.data()), s.size()); }
  // serial8250_rx_chars: read RX while LSR says data ready.
  std::string drain() {
    std::string got;
    for (uint8_t lsr = in(LSR); (lsr & kLsrDr) && got.size() < 100000; lsr = in(LSR))
      got.push_back(static_cast<char>(in(RX)));
    return got;
  }

  FakeIrq irq;
  Uart16550 uart{irq};
  std::string sent;
};

// size_fifo(): loopback at the fastest divisor, 256 bytes out, count the bytes that come back.
int linux_size_fifo(Rig& r) {
  const uint8_t old_lcr = r.in(LCR);
  r.out(LCR, 0);
  const uint8_t old_fcr = r.in(FCR);  // reads IIR, as the driver does
  const uint8_t old_mcr = r.in(MCR);
  r.out(FCR, kFcrEnable | kFcrClearRx | kFcrClearTx);
  r.out(MCR, kMcrLoop);
  r.out(LCR, kLcrConfModeA);
  const uint16_t old_dl = static_cast<uint16_t>(r.in(DLL) | (r.in(DLM) << 8));
  r.out(DLL, 1);
  r.out(DLM, 0);
  r.out(LCR, kLcrWlen8);
  for (int count = 0; count < 256; ++count) r.out(TX, static_cast<uint8_t>(count));
  int count = 0;
  for (; (r.in(LSR) & kLsrDr) && count < 256; ++count) r.in(RX);
  r.out(FCR, old_fcr);
  r.out(MCR, old_mcr);
  r.out(LCR, kLcrConfModeA);
  r.out(DLL, static_cast<uint8_t>(old_dl));
  r.out(DLM, static_cast<uint8_t>(old_dl >> 8));
  r.out(LCR, old_lcr);
  return count;
}

// autoconfig_16550a() for a port without UPF_EXAR_EFR.
std::string linux_autoconfig_16550a(Rig& r) {
  r.out(LCR, kLcrConfModeA);
  if (r.in(EFR) == 0) {
    r.out(EFR, 0xa8);
    return r.in(EFR) != 0 ? "16650" : "16550A_FSL64 or Motorola";
  }
  r.out(LCR, kLcrConfModeB);
  if (r.in(EFR) == 0) return "EFR (16650V2/16C950/XR16C850)";
  r.out(LCR, 0);
  uint8_t status1 = r.in(MCR);
  r.out(LCR, 0xe0);
  uint8_t status2 = r.in(0x02);  // EXCR1
  if (!((status2 ^ status1) & kMcrLoop)) {
    r.out(LCR, 0);
    r.out(MCR, status1 ^ kMcrLoop);
    r.out(LCR, 0xe0);
    status2 = r.in(0x02);
    r.out(LCR, 0);
    r.out(MCR, status1);
    if ((status2 ^ status1) & kMcrLoop) return "NS16550A (National SuperIO)";
  }
  r.out(LCR, 0);
  r.out(FCR, kFcrEnable | kFcr7_64Byte);
  status1 = r.in(IIR) >> 5;
  r.out(FCR, kFcrEnable);
  r.out(LCR, kLcrConfModeA);
  r.out(FCR, kFcrEnable | kFcr7_64Byte);
  status2 = r.in(IIR) >> 5;
  r.out(FCR, kFcrEnable);
  r.out(LCR, 0);
  if (status1 == 6 && status2 == 7) return "16750";
  const uint8_t iersave = r.in(IER);
  r.out(IER, iersave & ~kIerUue);
  if (!(r.in(IER) & kIerUue)) {
    r.out(IER, iersave | kIerUue);
    if (r.in(IER) & kIerUue) return "XScale";
  }
  r.out(IER, iersave);
  if (linux_size_fifo(r) == 64) return "U6_16550A";
  return "16550A";
}

// autoconfig(): the IER existence test, the loopback test, then the IIR FIFO bits.
std::string linux_autoconfig(Rig& r) {
  const uint8_t scratch = r.in(IER);
  r.out(IER, 0);
  const uint8_t scratch2 = r.in(IER) & 0x0f;
  r.out(IER, 0x0f);
  const uint8_t scratch3 = r.in(IER) & 0x0f;
  r.out(IER, scratch);
  if (scratch2 != 0 || scratch3 != 0x0f) return "IER test failed";
  const uint8_t save_mcr = r.in(MCR);
  const uint8_t save_lcr = r.in(LCR);
  r.out(MCR, kMcrLoop | 0x0a);
  const uint8_t status1 = r.in(MSR) & 0xf0;
  r.out(MCR, save_mcr);
  if (status1 != 0x90) return "LOOP test failed";
  r.out(LCR, kLcrConfModeB);
  r.out(EFR, 0);
  r.out(LCR, 0);
  r.out(FCR, kFcrEnable);
  std::string type;
  switch (r.in(IIR) >> 6) {
    case 0: type = "8250/16450"; break;
    case 1: type = "unknown"; break;
    case 2: type = "16550"; break;
    default: type = linux_autoconfig_16550a(r); break;
  }
  r.out(LCR, save_lcr);
  // "Reset the UART": serial8250_clear_fifos, then read RX, IER off.
  r.out(MCR, save_mcr);
  r.out(FCR, kFcrEnable);
  r.out(FCR, kFcrEnable | kFcrClearRx | kFcrClearTx);
  r.out(FCR, 0);
  r.in(RX);
  r.out(IER, 0);
  return type;
}

TEST(Uart16550, ResetValuesMatchQemu) {
  Rig r;
  EXPECT_EQ(r.in(IER), 0x00);
  EXPECT_EQ(r.in(IIR), 0x01);
  EXPECT_EQ(r.in(LCR), 0x00);
  EXPECT_EQ(r.in(MCR), 0x08);  // OUT2
  EXPECT_EQ(r.in(LSR), 0x60);  // THRE | TEMT
  EXPECT_EQ(r.in(MSR), 0xb0);  // DCD | DSR | CTS
  EXPECT_EQ(r.in(SCR), 0x00);
  r.out(LCR, kLcrDlab);
  EXPECT_EQ(r.in(DLL), 0x0c);
  EXPECT_EQ(r.in(DLM), 0x00);
  EXPECT_FALSE(r.irq.level);
}

TEST(Uart16550, LinuxAutoconfigDetects16550A) {
  Rig r;
  EXPECT_EQ(linux_autoconfig(r), "16550A");
  EXPECT_TRUE(r.sent.empty());  // the loopback probe transmitted nothing to the outside
  EXPECT_EQ(r.in(LCR), 0);      // put back as it was
  EXPECT_EQ(r.in(MCR), 0x08);
  EXPECT_FALSE(r.irq.level);
}

TEST(Uart16550, LinuxSizeFifoCounts16) {
  Rig r;
  EXPECT_EQ(linux_size_fifo(r), 16);
  EXPECT_TRUE(r.sent.empty());
  r.out(LCR, kLcrDlab);
  EXPECT_EQ(r.in(DLL), 0x0c);  // divisor restored
}

TEST(Uart16550, IerKeepsOnlyTheLowFourBits) {
  Rig r;
  r.out(IER, 0xff);
  EXPECT_EQ(r.in(IER), 0x0f);
}

TEST(Uart16550, LoopbackMsrMirrorsModemOutputs) {
  Rig r;
  r.out(MCR, kMcrLoop | 0x0a);  // OUT2 | RTS
  EXPECT_EQ(r.in(MSR) & 0xf0, 0x90);  // DCD | CTS
  r.out(MCR, kMcrLoop | 0x05);  // OUT1 | DTR
  EXPECT_EQ(r.in(MSR) & 0xf0, 0x60);  // RI | DSR
  r.out(MCR, kMcrLoop);
  EXPECT_EQ(r.in(MSR) & 0xf0, 0x00);
  r.out(MCR, 0x08);
  EXPECT_EQ(r.in(MSR), 0xb0);
}

TEST(Uart16550, ScratchAndDivisorLatch) {
  Rig r;
  r.out(SCR, 0x5a);
  EXPECT_EQ(r.in(SCR), 0x5a);
  r.out(SCR, 0xa5);
  EXPECT_EQ(r.in(SCR), 0xa5);
  r.out(IER, 0x05);
  r.out(LCR, kLcrDlab | kLcrWlen8);
  r.out(DLL, 0x01);  // 115200 baud: not a transmitted byte
  r.out(DLM, 0x02);
  EXPECT_EQ(r.in(DLL), 0x01);
  EXPECT_EQ(r.in(DLM), 0x02);
  r.out(LCR, kLcrWlen8);
  EXPECT_EQ(r.in(IER), 0x05);  // DLM and IER are different registers
  EXPECT_TRUE(r.sent.empty());
  // Offsets repeat every 8 bytes across the 0x100 window, as in qemu.
  EXPECT_EQ(r.in(0xf8 + SCR), 0xa5);
}

TEST(Uart16550, TransmitGoesToTheSinkImmediately) {
  Rig r;
  for (char c : std::string("hello\n")) {
    EXPECT_TRUE(r.in(LSR) & kLsrThre);
    r.out(TX, static_cast<uint8_t>(c));
  }
  EXPECT_EQ(r.sent, "hello\n");
  EXPECT_EQ(r.in(LSR) & (kLsrThre | kLsrTemt), kLsrThre | kLsrTemt);
  EXPECT_FALSE(r.irq.level);  // THRI not enabled
  r.uart.on_transmit = nullptr;
  r.out(TX, 'x');  // no sink: dropped, no crash
}

TEST(Uart16550, ThreInterruptRaisedAndClearedByIirRead) {
  Rig r;
  r.out(FCR, kFcrEnable);
  r.out(IER, kIerThri);  // THR is empty: the interrupt comes at once
  EXPECT_TRUE(r.irq.level);
  EXPECT_EQ(r.in(IIR), 0xc0 | kIirThri);
  EXPECT_FALSE(r.irq.level);  // reading IIR acknowledged it
  EXPECT_EQ(r.in(IIR), 0xc0 | kIirNoInt);
  r.out(TX, 'a');  // the byte leaves at once, THR is empty again: interrupt again
  EXPECT_TRUE(r.irq.level);
  EXPECT_EQ(r.in(IIR), 0xc0 | kIirThri);
  EXPECT_FALSE(r.irq.level);
  r.out(TX, 'b');
  EXPECT_TRUE(r.irq.level);
  r.out(IER, 0);  // __stop_tx
  EXPECT_FALSE(r.irq.level);
  EXPECT_EQ(r.in(IIR), 0xc0 | kIirNoInt);
  EXPECT_EQ(r.sent, "ab");
}

TEST(Uart16550, LinuxStartupThreTestsPass) {
  Rig r;
  // UART_BUG_THRE: THRE must be re-asserted when IER.THRI is set again after an IIR read.
  r.out(IER, kIerThri);
  const uint8_t iir1 = r.in(IIR);
  r.out(IER, 0);
  r.out(IER, kIerThri);
  const uint8_t iir = r.in(IIR);
  r.out(IER, 0);
  EXPECT_FALSE(iir1 & kIirNoInt);
  EXPECT_FALSE(iir & kIirNoInt);
  // UART_BUG_TXEN: enabling THRI with the transmitter empty must interrupt.
  r.out(IER, kIerThri);
  const uint8_t lsr = r.in(LSR);
  const uint8_t iir2 = r.in(IIR);
  r.out(IER, 0);
  EXPECT_FALSE((lsr & kLsrTemt) && (iir2 & kIirNoInt));
}

TEST(Uart16550, FifoControlClearsAndReportsFifos) {
  Rig r;
  r.out(FCR, kFcrEnable | kFcrTrigger8);
  EXPECT_EQ(r.in(IIR) & 0xc0, 0xc0);
  r.feed("abc");
  r.uart.poll();
  EXPECT_TRUE(r.in(LSR) & kLsrDr);
  r.out(FCR, kFcrEnable | kFcrTrigger8 | kFcrClearRx);  // the guest discards what it had
  EXPECT_FALSE(r.in(LSR) & kLsrDr);
  r.out(FCR, 0);  // FIFOs off
  EXPECT_EQ(r.in(IIR) & 0xc0, 0x00);
  // Clearing the transmitter re-arms the THRE interrupt.
  r.out(IER, kIerThri);
  EXPECT_EQ(r.in(IIR), kIirThri);
  EXPECT_FALSE(r.irq.level);
  r.out(FCR, kFcrClearTx);
  EXPECT_TRUE(r.irq.level);
  EXPECT_EQ(r.in(IIR), kIirThri);
}

TEST(Uart16550, ReceiveWithoutFifoRaisesDataReadyPerByte) {
  Rig r;
  r.out(IER, kIerRdi);
  r.feed("hi");
  EXPECT_FALSE(r.irq.level);  // nothing reaches the UART before the CPU thread polls
  EXPECT_TRUE(r.uart.has_pending_input());
  r.uart.poll();
  EXPECT_TRUE(r.irq.level);
  EXPECT_EQ(r.in(IIR), kIirRdi);
  EXPECT_EQ(r.in(LSR) & kLsrDr, kLsrDr);
  EXPECT_EQ(r.in(RX), 'h');
  // The read made room: the next byte moved in, still without an overrun.
  EXPECT_EQ(r.in(LSR) & (kLsrDr | kLsrOe), kLsrDr);
  EXPECT_EQ(r.in(RX), 'i');
  EXPECT_FALSE(r.in(LSR) & kLsrDr);
  EXPECT_FALSE(r.irq.level);
  EXPECT_FALSE(r.uart.has_pending_input());
}

TEST(Uart16550, FifoTriggerLevelAndCharacterTimeout) {
  Rig r;
  r.out(FCR, kFcrEnable | kFcrTrigger8);  // what Linux programs for a 16550A
  r.out(IER, kIerRdi | kIerRlsi);
  r.feed("abc");
  r.uart.poll();
  // Three bytes are below the trigger level of eight: data ready but no interrupt yet.
  EXPECT_TRUE(r.in(LSR) & kLsrDr);
  EXPECT_FALSE(r.irq.level);
  EXPECT_EQ(r.in(IIR), 0xc0 | kIirNoInt);
  r.uart.poll();  // a whole slice without the guest reading: the timeout fires
  EXPECT_TRUE(r.irq.level);
  EXPECT_EQ(r.in(IIR), 0xc0 | kIirCti);
  // A read acknowledges the timeout and restarts it: the next poll() is too early (the read may
  // have come at the very end of the slice), the one after fires again for the bytes left.
  EXPECT_EQ(r.in(RX), 'a');
  EXPECT_FALSE(r.irq.level);
  r.uart.poll();
  EXPECT_FALSE(r.irq.level);
  r.uart.poll();
  EXPECT_TRUE(r.irq.level);
  EXPECT_EQ(r.in(IIR), 0xc0 | kIirCti);
  EXPECT_EQ(r.drain(), "bc");
  EXPECT_FALSE(r.irq.level);
  r.uart.poll();
  r.uart.poll();
  EXPECT_FALSE(r.irq.level);  // an empty FIFO does not time out
  // Eight or more bytes reach the trigger level at once.
  r.feed("0123456789");
  r.uart.poll();
  EXPECT_TRUE(r.irq.level);
  EXPECT_EQ(r.in(IIR), 0xc0 | kIirRdi);
  EXPECT_EQ(r.drain(), "0123456789");
  EXPECT_FALSE(r.irq.level);
}

TEST(Uart16550, HostBufferHoldsWhatTheFifoCannot) {
  Rig r;
  r.out(FCR, kFcrEnable | kFcrTrigger8);
  r.out(IER, kIerRdi);
  std::string text;
  for (int i = 0; i < 300; ++i) text.push_back(static_cast<char>('A' + i % 26));
  r.feed(text);
  EXPECT_TRUE(r.uart.has_deliverable_input());
  r.uart.poll();
  r.uart.poll();
  r.uart.poll();  // polls without reads do not overflow anything
  EXPECT_TRUE(r.uart.has_pending_input());  // 16 in the FIFO, the rest waiting
  EXPECT_FALSE(r.uart.has_deliverable_input());  // but none can move until the guest reads
  EXPECT_TRUE(r.irq.level);
  // Read slowly: a few bytes per "interrupt", polling in between.
  std::string got;
  for (int round = 0; round < 1000 && got.size() < text.size(); ++round) {
    for (int i = 0; i < 5 && (r.in(LSR) & kLsrDr); ++i) got.push_back(static_cast<char>(r.in(RX)));
    r.uart.poll();
    ASSERT_FALSE(r.in(LSR) & kLsrOe);
  }
  EXPECT_EQ(got, text);
  EXPECT_FALSE(r.uart.has_pending_input());
  EXPECT_FALSE(r.in(LSR) & kLsrDr);
}

TEST(Uart16550, LoopbackSendsToTheReceiverAndOverrunsLikeHardware) {
  Rig r;
  r.out(FCR, kFcrEnable);
  r.out(MCR, kMcrLoop);
  r.feed("host");  // host input waits while in loopback
  r.uart.poll();
  for (int i = 0; i < 20; ++i) r.out(TX, static_cast<uint8_t>('a' + i));
  EXPECT_TRUE(r.sent.empty());
  const uint8_t lsr = r.in(LSR);
  EXPECT_TRUE(lsr & kLsrOe);  // 16 fit, 4 overran and were dropped
  EXPECT_TRUE(lsr & kLsrDr);
  EXPECT_FALSE(r.in(LSR) & kLsrOe);  // overrun clears on read
  std::string got;
  while (r.in(LSR) & kLsrDr) got.push_back(static_cast<char>(r.in(RX)));
  EXPECT_EQ(got, "abcdefghijklmnop");
  EXPECT_TRUE(r.uart.has_pending_input());
  EXPECT_FALSE(r.uart.has_deliverable_input());  // loopback: the host is disconnected
  r.out(MCR, 0x08);  // back to normal: the host input flows
  EXPECT_EQ(r.drain(), "host");
}

TEST(Uart16550, LineStatusInterruptOutranksDataAndThre) {
  Rig r;
  r.out(IER, kIerRdi | kIerThri | kIerRlsi);
  EXPECT_EQ(r.in(IIR), kIirThri);  // acknowledges THRE
  r.out(MCR, kMcrLoop);
  r.out(TX, 'x');  // FIFOs off: fills RBR
  EXPECT_EQ(r.in(IIR), kIirRdi);  // data outranks THRE
  r.out(TX, 'y');  // RBR still full: overrun
  EXPECT_EQ(r.in(IIR), kIirRlsi);
  EXPECT_TRUE(r.irq.level);
  EXPECT_TRUE(r.in(LSR) & kLsrOe);  // reading LSR clears the overrun
  EXPECT_EQ(r.in(IIR), kIirRdi);
  EXPECT_EQ(r.in(RX), 'y');  // the newer byte replaced the older one
  EXPECT_EQ(r.in(IIR), kIirThri);
  EXPECT_EQ(r.in(IIR), kIirNoInt);
  EXPECT_FALSE(r.irq.level);
}

TEST(Uart16550, OnlyByteAccessesDecode) {
  Rig r;
  uint64_t v = 0;
  EXPECT_FALSE(r.uart.read(LSR, 2, v));
  EXPECT_FALSE(r.uart.read(0, 4, v));
  EXPECT_FALSE(r.uart.write(0, 4, 'x'));
  EXPECT_FALSE(r.uart.write(0, 8, 'x'));
  EXPECT_FALSE(r.uart.read(Uart16550::kSize, 1, v));
  EXPECT_TRUE(r.sent.empty());
}

TEST(Uart16550, ResetKeepsHostInputButClearsTheFifo) {
  Rig r;
  r.out(FCR, kFcrEnable);
  r.out(IER, kIerRdi);
  r.feed("0123456789abcdefXYZ");  // 16 go into the FIFO, 3 wait
  r.uart.poll();
  EXPECT_TRUE(r.irq.level);
  r.out(SCR, 1);
  r.uart.reset();
  EXPECT_FALSE(r.irq.level);
  EXPECT_EQ(r.in(SCR), 0);
  EXPECT_EQ(r.in(IIR), kIirNoInt);
  EXPECT_EQ(r.drain(), "XYZ");  // FIFOs off after reset: one byte at a time through RBR
}

TEST(Uart16550, InputNotifierAndConcurrentReceive) {
  Rig r;
  std::atomic<int> notified{0};
  r.uart.on_input = [&] { ++notified; };
  r.out(FCR, kFcrEnable | kFcrTrigger8);
  constexpr int kChunks = 500;
  std::thread host([&] {
    for (int i = 0; i < kChunks; ++i) {
      const std::string chunk = std::to_string(i) + ",";
      r.feed(chunk);
    }
  });
  std::string got;
  std::string expected;
  for (int i = 0; i < kChunks; ++i) expected += std::to_string(i) + ",";
  for (int spins = 0; got.size() < expected.size() && spins < 10000000; ++spins) {
    r.uart.poll();
    got += r.drain();
  }
  host.join();
  got += r.drain();
  EXPECT_EQ(got, expected);
  EXPECT_EQ(notified.load(), kChunks);
}

TEST(Uart16550, DrivesAPlicSource) {
  // As on the virt board: the UART on PLIC source 10, the kernel taking it in S mode.
  HartLines hart;
  Plic plic(hart);
  Uart16550 uart(plic.source(10));
  std::string sent;
  uart.on_transmit = [&](uint8_t b) { sent.push_back(static_cast<char>(b)); };
  auto seip = [&] { return (hart.bits() >> mip::kSeip) & 1; };
  auto reg = [&](uint64_t off) {
    uint64_t v = 0;
    EXPECT_TRUE(plic.read(off, 4, v));
    return static_cast<uint32_t>(v);
  };
  EXPECT_TRUE(plic.write(4 * 10, 4, 1));
  EXPECT_TRUE(plic.write(0x2080, 4, 1u << 10));
  uart.write(FCR, 1, kFcrEnable | kFcrTrigger8);
  uart.write(IER, 1, kIerRdi);
  const uint8_t line[] = {'l', 's', '\r'};
  uart.receive(line, sizeof line);
  uart.poll();
  uart.poll();  // below the trigger: the timeout interrupt
  EXPECT_TRUE(seip());
  // The handler: claim, read IIR and the data, complete.
  EXPECT_EQ(reg(0x201004), 10u);
  EXPECT_FALSE(seip());
  uint64_t v = 0;
  uart.read(IIR, 1, v);
  EXPECT_EQ(v, 0xc0u | kIirCti);
  std::string got;
  for (uart.read(LSR, 1, v); v & kLsrDr; uart.read(LSR, 1, v)) {
    uart.read(RX, 1, v);
    got.push_back(static_cast<char>(v));
  }
  EXPECT_EQ(got, "ls\r");
  EXPECT_TRUE(plic.write(0x201004, 4, 10));
  EXPECT_FALSE(seip());
  // Transmit with THRI: raised while the handler still holds the claim, delivered after complete.
  uart.write(IER, 1, kIerRdi | kIerThri);
  EXPECT_TRUE(seip());
  EXPECT_EQ(reg(0x201004), 10u);
  uart.read(IIR, 1, v);
  EXPECT_EQ(v, 0xc0u | kIirThri);
  uart.write(TX, 1, '$');  // THRE again while claimed
  EXPECT_FALSE(seip());
  EXPECT_TRUE(plic.write(0x201004, 4, 10));
  EXPECT_TRUE(seip());  // the line was still high at complete
  EXPECT_EQ(sent, "$");
}

}  // namespace
}  // namespace vmkit::devices
