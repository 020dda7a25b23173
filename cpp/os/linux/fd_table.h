// The guest's file descriptor table: guest fd numbers map to host fds that vmkit owns, so a guest
// close(1) closes the guest's stdout, never the host's (the caller's fds are dup'ed in).
#pragma once

#include <map>

namespace vmkit::linux_user {

class FdTable {
 public:
  FdTable();
  ~FdTable();
  FdTable(const FdTable&) = delete;
  FdTable& operator=(const FdTable&) = delete;

  // Takes ownership of host_fd as the lowest free guest fd >= min_guest; returns the guest fd,
  // or -EMFILE (closing host_fd) when the table is full.
  int add(int host_fd, bool cloexec, int min_guest = 0);
  // Takes ownership of host_fd as guest fd `guest_fd`, closing what was there.
  void put(int guest_fd, int host_fd, bool cloexec);
  // The host fd behind a guest fd, or -1 if the guest fd is not open.
  int host(int guest_fd) const;
  bool is_open(int guest_fd) const { return host(guest_fd) >= 0; }
  // One past the highest open guest fd (0 if none is open).
  int end() const { return fds_.empty() ? 0 : fds_.rbegin()->first + 1; }
  bool cloexec(int guest_fd) const;
  void set_cloexec(int guest_fd, bool on);
  // Closes a guest fd; returns 0 or -EBADF.
  int close(int guest_fd);
  // execve: closes every fd marked close-on-exec.
  void close_on_exec();
  void close_all();

  // Guest fd numbers stay below the host's RLIMIT_NOFILE (what the guest's getrlimit reports).
  int max_fds() const { return max_fds_; }

 private:
  struct Entry {
    int host_fd;
    bool cloexec;
  };
  std::map<int, Entry> fds_;
  int max_fds_;
};

}  // namespace vmkit::linux_user
