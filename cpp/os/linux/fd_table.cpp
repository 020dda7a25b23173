#include "os/linux/fd_table.h"

#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <climits>

namespace vmkit::linux_user {

FdTable::FdTable() {
  struct rlimit rl;
  max_fds_ = ::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rlim_t(INT_MAX) ? int(rl.rlim_cur) : 1024;
}

FdTable::~FdTable() { close_all(); }

int FdTable::add(int host_fd, bool cloexec, int min_guest) {
  int g = min_guest < 0 ? 0 : min_guest;
  for (auto it = fds_.lower_bound(g); it != fds_.end() && it->first == g; ++it) ++g;
  if (g >= max_fds_) {
    ::close(host_fd);
    return -EMFILE;
  }
  fds_[g] = Entry{host_fd, cloexec};
  return g;
}

void FdTable::put(int guest_fd, int host_fd, bool cloexec) {
  auto it = fds_.find(guest_fd);
  if (it != fds_.end()) ::close(it->second.host_fd);
  fds_[guest_fd] = Entry{host_fd, cloexec};
}

int FdTable::host(int guest_fd) const {
  auto it = fds_.find(guest_fd);
  return it == fds_.end() ? -1 : it->second.host_fd;
}

bool FdTable::cloexec(int guest_fd) const {
  auto it = fds_.find(guest_fd);
  return it != fds_.end() && it->second.cloexec;
}

void FdTable::set_cloexec(int guest_fd, bool on) {
  auto it = fds_.find(guest_fd);
  if (it != fds_.end()) it->second.cloexec = on;
}

int FdTable::close(int guest_fd) {
  auto it = fds_.find(guest_fd);
  if (it == fds_.end()) return -EBADF;
  ::close(it->second.host_fd);
  fds_.erase(it);
  return 0;
}

void FdTable::close_on_exec() {
  for (auto it = fds_.begin(); it != fds_.end();) {
    if (it->second.cloexec) {
      ::close(it->second.host_fd);
      it = fds_.erase(it);
    } else {
      ++it;
    }
  }
}

void FdTable::close_all() {
  for (auto& [g, e] : fds_) ::close(e.host_fd);
  fds_.clear();
}

}  // namespace vmkit::linux_user
