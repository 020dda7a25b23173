// What the bindings of every hookable object (vmkit.Machine, vmkit.linux.Process) share: Python
// hooks called through a trampoline with the GIL held, native hooks called directly, the Python
// callables kept where the garbage collector can see them, and the run-time GIL policy.
#pragma once

#include <pybind11/pybind11.h>

#include <map>
#include <memory>

#include "core/errors.h"
#include "core/hooks.h"

namespace vmkit::bindings {

namespace py = pybind11;

class HookHost;

// One Python hook: the trampoline's `user` pointer.
struct PyHook {
  HookHost* host;
  py::object fn;
};

// Mixed into the C++ object behind a hookable Python object.
class HookHost {
 public:
  explicit HookHost(HookSet& hooks) : hooks_(hooks) {}

  HookSet& hook_set() { return hooks_; }
  // The Python-level object hooks receive as their first argument (held weakly: it owns us).
  void set_owner(py::handle owner) { owner_ = py::reinterpret_steal<py::object>(PyWeakref_NewRef(owner.ptr(), nullptr)); }
  PyObject* owner_object() const {
    if (!owner_) return Py_None;
    PyObject* o = PyWeakref_GetObject(owner_.ptr());  // borrowed
    return o ? o : Py_None;
  }

  uint64_t add_python(uint32_t types, uint64_t begin, uint64_t end, py::object fn) {
    if (gil_released_)
      throw UsageError("cannot add a Python hook from another thread while the run holds no GIL (it has native "
                       "hooks only): stop it first");
    auto h = std::make_unique<PyHook>(PyHook{this, std::move(fn)});
    uint64_t id = hooks_.add(types, begin, end, &HookHost::trampoline, h.get());
    py_hooks_[id] = std::move(h);
    return id;
  }
  uint64_t add_native(uint32_t types, uint64_t begin, uint64_t end, uintptr_t fn, uintptr_t user) {
    if (!fn) throw UsageError("native hook function pointer is NULL");
    return hooks_.add(types, begin, end, reinterpret_cast<HookFn>(fn), reinterpret_cast<void*>(user));
  }
  void remove(uint64_t id) {
    hooks_.remove(id);
    // A Python hook that removes itself is still running: keep its callable until the run ends.
    auto it = py_hooks_.find(id);
    if (it != py_hooks_.end()) {
      retired_.push_back(std::move(it->second));
      py_hooks_.erase(it);
    }
  }

  // Runs f (a run of the guest) with the GIL held if Python hooks may be called, else without.
  template <class F> auto run_guest(F&& f) {
    struct Cleanup {
      HookHost* h;
      ~Cleanup() {
        h->gil_released_ = false;
        h->retired_.clear();
      }
    } cleanup{this};
    if (!py_hooks_.empty()) return f();  // Python hooks need the GIL: keep it
    gil_released_ = true;
    py::gil_scoped_release release;
    return f();
  }

  // tp_traverse / tp_clear of the owning Python type.
  int traverse(visitproc visit, void* arg) {
    for (auto& [id, h] : py_hooks_) Py_VISIT(h->fn.ptr());
    return 0;
  }
  void clear() {
    for (auto& [id, h] : py_hooks_) hooks_.remove(id);
    py_hooks_.clear();
  }

 private:
  static int trampoline(uint32_t type, uint64_t address, uint32_t size, uint64_t value, void* user);

  HookSet& hooks_;
  py::object owner_;
  std::map<uint64_t, std::unique_ptr<PyHook>> py_hooks_;
  std::vector<std::unique_ptr<PyHook>> retired_;
  bool gil_released_ = false;
};

// Calls a Python hook (GIL held, see run_guest). The per-instruction path of Python code hooks:
// vectorcall, no tuple. Arguments by type: code/block (owner, address, size); interrupt and
// syscall (owner, value); invalid instruction (owner, address, size, bytes); memory accesses and
// faults (owner, access, address, size, value) with access 1 read, 2 write, 4 fetch.
inline int HookHost::trampoline(uint32_t type, uint64_t address, uint32_t size, uint64_t value, void* user) {
  PyHook* h = static_cast<PyHook*>(user);
  PyObject* args[5] = {h->host->owner_object(), nullptr, nullptr, nullptr, nullptr};
  size_t n = 1;
  auto push = [&](PyObject* o) { args[n++] = o; };
  switch (type) {
    case kHookCode:
    case kHookBlock:
      push(PyLong_FromUnsignedLongLong(address));
      push(PyLong_FromUnsignedLong(size));
      break;
    case kHookInterrupt:
    case kHookSyscall:
      push(PyLong_FromUnsignedLongLong(value));
      break;
    case kHookInvalidInsn:
      push(PyLong_FromUnsignedLongLong(address));
      push(PyLong_FromUnsignedLong(size));
      push(PyLong_FromUnsignedLongLong(value));
      break;
    default: {  // memory accesses and faults
      uint32_t access = (type & (kHookMemRead | kHookReadUnmapped | kHookReadProt)) ? 1
                        : (type & (kHookMemWrite | kHookWriteUnmapped | kHookWriteProt)) ? 2
                                                                                          : 4;
      push(PyLong_FromUnsignedLong(access));
      push(PyLong_FromUnsignedLongLong(address));
      push(PyLong_FromUnsignedLong(size));
      push(PyLong_FromUnsignedLongLong(value));
    }
  }
  PyObject* result = PyObject_Vectorcall(h->fn.ptr(), args, n, nullptr);
  for (size_t i = 1; i < n; ++i) Py_XDECREF(args[i]);
  HookSet& hooks = h->host->hooks_;
  if (!result) {
    hooks.fail(std::make_exception_ptr(py::error_already_set()));
    return 0;
  }
  int truth = 0;
  if (type & (kHookMemFault | kHookInvalidInsn | kHookSyscall)) {  // the others stop through stop()
    truth = PyObject_IsTrue(result);
    if (truth < 0) {
      Py_DECREF(result);
      hooks.fail(std::make_exception_ptr(py::error_already_set()));
      return 0;
    }
  }
  Py_DECREF(result);
  return truth;
}

// Type setup for a Python type whose C++ object is a HookHost (via T): lets the garbage
// collector see (and break) cycles through hook callables.
template <class T> py::custom_type_setup gc_visible_hooks() {
  return py::custom_type_setup([](PyHeapTypeObject* heap_type) {
    auto* type = &heap_type->ht_type;
    type->tp_flags |= Py_TPFLAGS_HAVE_GC;
    type->tp_traverse = [](PyObject* self_base, visitproc visit, void* arg) {
#if PY_VERSION_HEX >= 0x03090000
      Py_VISIT(Py_TYPE(self_base));
#endif
      return py::cast<T&>(py::handle(self_base)).traverse(visit, arg);
    };
    type->tp_clear = [](PyObject* self_base) {
      py::cast<T&>(py::handle(self_base)).clear();
      return 0;
    };
  });
}

// The hook methods every hookable Python type gets.
template <class Cls> void def_hook_methods(Cls& cls) {
  using T = typename Cls::type;
  cls.def("_set_owner", [](T& t, py::handle owner) { t.set_owner(owner); })
      .def("hook_add_python", [](T& t, uint32_t types, uint64_t begin, uint64_t end, py::object fn) {
        return t.add_python(types, begin, end, std::move(fn));
      })
      .def("hook_add_native", [](T& t, uint32_t types, uint64_t begin, uint64_t end, uintptr_t fn, uintptr_t user) {
        return t.add_native(types, begin, end, fn, user);
      })
      .def("hook_remove", [](T& t, uint64_t id) { t.remove(id); })
      .def("stop", [](T& t) { t.hook_set().stop(); });
}

}  // namespace vmkit::bindings
