#include "devices/net_backend.h"

#include <algorithm>
#include <cstring>

namespace vmkit::devices {

namespace net {

uint16_t internet_checksum(const uint8_t* data, size_t len) {
  uint64_t sum = 0;
  for (size_t i = 0; i + 1 < len; i += 2) sum += uint32_t(data[i]) << 8 | data[i + 1];
  if (len & 1) sum += uint32_t(data[len - 1]) << 8;  // an odd byte is padded with a zero
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

}  // namespace net

namespace {

// Offsets of the protocol headers in an untagged Ethernet frame.
constexpr size_t kEthDst = 0, kEthSrc = 6, kEthType = 12, kEthPayload = 14;
constexpr uint16_t kEthTypeIpv4 = 0x0800, kEthTypeArp = 0x0806;

// An ARP packet for IPv4 over Ethernet (RFC 826), after the Ethernet header.
constexpr size_t kArpHtype = 0, kArpPtype = 2, kArpHlen = 4, kArpPlen = 5, kArpOper = 6, kArpSha = 8,
                 kArpSpa = 14, kArpTha = 18, kArpTpa = 24, kArpBytes = 28;
constexpr uint16_t kArpRequest = 1, kArpReply = 2;

// IPv4 (RFC 791) and ICMP echo (RFC 792).
constexpr size_t kIpVersionIhl = 0, kIpTos = 1, kIpTotalLength = 2, kIpId = 4, kIpFlagsFragment = 6,
                 kIpTtl = 8, kIpProtocol = 9, kIpChecksum = 10, kIpSrc = 12, kIpDst = 16, kIpHeaderBytes = 20;
constexpr uint8_t kIpProtocolIcmp = 1;
constexpr uint16_t kIpMoreFragments = 0x2000, kIpFragmentOffset = 0x1fff;
constexpr size_t kIcmpType = 0, kIcmpCode = 1, kIcmpChecksum = 2, kIcmpHeaderBytes = 8;
constexpr uint8_t kIcmpEchoReply = 0, kIcmpEchoRequest = 8;

uint16_t get_be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
void put_be16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
template <size_t N>
bool equal(const uint8_t* p, const std::array<uint8_t, N>& a) {
  return std::memcmp(p, a.data(), N) == 0;
}
template <size_t N>
void copy(uint8_t* p, const std::array<uint8_t, N>& a) {
  std::memcpy(p, a.data(), N);
}

// A frame of `payload` bytes after an Ethernet header from `src` to `dst`, padded to the minimum.
std::vector<uint8_t> ethernet_frame(const uint8_t* dst, const MacAddress& src, uint16_t type,
                                    size_t payload) {
  std::vector<uint8_t> f(std::max(kEthPayload + payload, net::kMinFrameBytes), 0);
  std::memcpy(f.data() + kEthDst, dst, 6);
  copy(f.data() + kEthSrc, src);
  put_be16(f.data() + kEthType, type);
  return f;
}

}  // namespace

std::vector<std::vector<uint8_t>> ArpIcmpResponder::respond(const uint8_t* frame, size_t len) {
  std::vector<std::vector<uint8_t>> replies;
  std::vector<uint8_t> reply;
  if (len >= kEthPayload) {
    const uint16_t type = get_be16(frame + kEthType);
    if (type == kEthTypeArp) reply = arp_reply(frame, len);
    else if (type == kEthTypeIpv4) reply = echo_reply(frame, len);
  }
  if (reply.empty()) ++stats_.ignored;
  else replies.push_back(std::move(reply));
  return replies;
}

std::vector<uint8_t> ArpIcmpResponder::arp_reply(const uint8_t* frame, size_t len) {
  if (len < kEthPayload + kArpBytes) return {};
  const uint8_t* arp = frame + kEthPayload;
  if (get_be16(arp + kArpHtype) != 1 || get_be16(arp + kArpPtype) != kEthTypeIpv4 || arp[kArpHlen] != 6 ||
      arp[kArpPlen] != 4 || get_be16(arp + kArpOper) != kArpRequest || !equal(arp + kArpTpa, host_ip_))
    return {};
  // To the asker's hardware address as the request gives it (the frame's source normally agrees).
  std::vector<uint8_t> f = ethernet_frame(arp + kArpSha, host_mac_, kEthTypeArp, kArpBytes);
  uint8_t* out = f.data() + kEthPayload;
  std::memcpy(out, arp, kArpOper);  // htype, ptype, hlen, plen
  put_be16(out + kArpOper, kArpReply);
  copy(out + kArpSha, host_mac_);
  copy(out + kArpSpa, host_ip_);
  std::memcpy(out + kArpTha, arp + kArpSha, 6);
  std::memcpy(out + kArpTpa, arp + kArpSpa, 4);
  ++stats_.arp_replies;
  return f;
}

std::vector<uint8_t> ArpIcmpResponder::echo_reply(const uint8_t* frame, size_t len) {
  // Only what a real host would take as an echo request for itself: addressed to its MAC and IP,
  // a well-formed, unfragmented IPv4 packet with correct checksums.
  if (len < kEthPayload + kIpHeaderBytes || !equal(frame + kEthDst, host_mac_)) return {};
  const uint8_t* ip = frame + kEthPayload;
  const size_t ip_header = size_t(ip[kIpVersionIhl] & 0xf) * 4;
  const size_t ip_total = get_be16(ip + kIpTotalLength);
  // The frame may be longer than the packet (padding to the Ethernet minimum), not shorter.
  if ((ip[kIpVersionIhl] >> 4) != 4 || ip_header < kIpHeaderBytes ||
      ip_total < ip_header + kIcmpHeaderBytes || ip_total > len - kEthPayload)
    return {};
  if (ip[kIpProtocol] != kIpProtocolIcmp || !equal(ip + kIpDst, host_ip_) ||
      (get_be16(ip + kIpFlagsFragment) & (kIpMoreFragments | kIpFragmentOffset)) ||
      net::internet_checksum(ip, ip_header) != 0)
    return {};
  const uint8_t* icmp = ip + ip_header;
  const size_t icmp_len = ip_total - ip_header;
  if (icmp[kIcmpType] != kIcmpEchoRequest || icmp[kIcmpCode] != 0 ||
      net::internet_checksum(icmp, icmp_len) != 0)
    return {};

  // The reply: no IP options (the request's are not echoed, as Linux does), the ICMP message with
  // its type changed, identifier, sequence number and data kept.
  const size_t reply_ip_len = kIpHeaderBytes + icmp_len;
  std::vector<uint8_t> f = ethernet_frame(frame + kEthSrc, host_mac_, kEthTypeIpv4, reply_ip_len);
  uint8_t* out_ip = f.data() + kEthPayload;
  out_ip[kIpVersionIhl] = 0x45;
  out_ip[kIpTos] = ip[kIpTos];
  put_be16(out_ip + kIpTotalLength, static_cast<uint16_t>(reply_ip_len));
  put_be16(out_ip + kIpId, next_ip_id_++);
  put_be16(out_ip + kIpFlagsFragment, 0);
  out_ip[kIpTtl] = 64;
  out_ip[kIpProtocol] = kIpProtocolIcmp;
  std::memcpy(out_ip + kIpSrc, ip + kIpDst, 4);
  std::memcpy(out_ip + kIpDst, ip + kIpSrc, 4);
  put_be16(out_ip + kIpChecksum, net::internet_checksum(out_ip, kIpHeaderBytes));
  uint8_t* out_icmp = out_ip + kIpHeaderBytes;
  std::memcpy(out_icmp, icmp, icmp_len);
  out_icmp[kIcmpType] = kIcmpEchoReply;
  put_be16(out_icmp + kIcmpChecksum, 0);
  put_be16(out_icmp + kIcmpChecksum, net::internet_checksum(out_icmp, icmp_len));
  ++stats_.echo_replies;
  return f;
}

void connect_responder(VirtioNet& net, ArpIcmpResponder& responder) {
  net.on_transmit = [&net, &responder](const uint8_t* frame, size_t len) {
    for (std::vector<uint8_t>& reply : responder.respond(frame, len)) net.receive(std::move(reply));
  };
}

}  // namespace vmkit::devices
