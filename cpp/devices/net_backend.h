// Back ends for VirtioNet. The "queue" back end is VirtioNet's own interface (on_transmit for the
// guest's frames, receive() for frames to it), which the board or Python connects to whatever it
// likes. Here is a tiny built-in peer for tests and for a guest with no host network:
//
//   ArpIcmpResponder  plays one host (qemu user networking's gateway, 10.0.2.2 at
//                     52:55:0a:00:02:02, by default) that answers ARP requests for its address and
//                     ICMP echo requests to it, so `ping 10.0.2.2` works in the guest. Everything
//                     else gets no answer.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "devices/virtio_net.h"

namespace vmkit::devices {

using Ipv4Address = std::array<uint8_t, 4>;

namespace net {
constexpr Ipv4Address kSlirpHostIp = {10, 0, 2, 2};
constexpr MacAddress kSlirpHostMac = {0x52, 0x55, 0x0a, 0x00, 0x02, 0x02};
// Ethernet frames shorter than this (64 bytes less the FCS) are padded with zeros, as a NIC does.
constexpr size_t kMinFrameBytes = 60;
// The Internet checksum (RFC 1071) of `len` bytes: the ones' complement of their ones' complement
// sum as big-endian 16-bit words, in host order. Data that includes a correct checksum gives 0.
uint16_t internet_checksum(const uint8_t* data, size_t len);
}  // namespace net

class ArpIcmpResponder {
 public:
  explicit ArpIcmpResponder(const Ipv4Address& host_ip = net::kSlirpHostIp,
                            const MacAddress& host_mac = net::kSlirpHostMac)
      : host_ip_(host_ip), host_mac_(host_mac) {}

  // The frames that answer `frame` (an Ethernet frame without FCS, as on_transmit gives it): an
  // ARP reply to an ARP request for the host's address, an echo reply to an ICMP echo request sent
  // to the host's MAC and address (with valid IP and ICMP checksums; fragments are ignored), and
  // nothing for anything else.
  std::vector<std::vector<uint8_t>> respond(const uint8_t* frame, size_t len);

  const Ipv4Address& host_ip() const { return host_ip_; }
  const MacAddress& host_mac() const { return host_mac_; }

  struct Stats {
    uint64_t arp_replies = 0, echo_replies = 0, ignored = 0;
  };
  const Stats& stats() const { return stats_; }

 private:
  std::vector<uint8_t> arp_reply(const uint8_t* frame, size_t len);
  std::vector<uint8_t> echo_reply(const uint8_t* frame, size_t len);

  Ipv4Address host_ip_;
  MacAddress host_mac_;
  uint16_t next_ip_id_ = 1;
  Stats stats_;
};

// Makes `responder` the network of `net`: the guest's frames go to it and its answers come back
// through net.receive() (delivered at the next poll). Replaces net.on_transmit; `responder` must
// outlive `net`'s use of it.
void connect_responder(VirtioNet& net, ArpIcmpResponder& responder);

}  // namespace vmkit::devices
