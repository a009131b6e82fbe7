"""Exits per VM and vCPU against kvmload's KVM_RUN returns.

A part of ArchRun (tests/vm/suite.py); artefacts in build/vmtest/<arch>/.
"""



class ExitsChecks:
    def match_exits(self, name, truth, watch):
        """kvmwatch sees every VM; per vCPU, userspace exits per reason
        equal kvmload's count of KVM_RUN returns. Returns {tid: vcpu}."""
        wvms = {vm.get("pid"): vm for vm in watch.get("vms", [])}
        points = watch.get("detectors", {}).get("exits", {}).get("points", [])
        # x86's kvm_exit carries the index; arm64 needs the vcpu_run point.
        index_known = all(p.get("mode") not in (None, "none")
                          for p in points
                          if p.get("name") == "vcpu_run" and p.get("applicable"))
        found = {}
        for vm in truth.get("vms", []):
            pid = vm.get("pid")
            wvm = wvms.get(pid)
            self.ok(wvm is not None,
                    f"{name}: kvmwatch sees VM process {pid}",
                    [] if wvm else ["kvmwatch saw pids: " +
                                    str(sorted(wvms, key=str))])
            wvcpus = {v.get("tid"): v for v in (wvm or {}).get("vcpus", [])}
            for vcpu in vm.get("vcpus", []):
                tid = vcpu.get("tid")
                want = {k: v for k, v in
                        vcpu.get("userspace_exits", {}).items() if v}
                wv = wvcpus.get(tid)
                got = None
                if wv is not None:
                    found[tid] = wv
                    got = {}
                    for r in wv.get("userspace_reasons", []):
                        if r.get("count"):
                            rname = r.get("name")
                            got[rname] = got.get(rname, 0) + r["count"]
                good = got == want
                self.ok(good, f"{name}: vm {pid} vcpu "
                        f"{vcpu.get('vcpu_id')} (tid {tid}): userspace "
                        f"exits per reason match kvmload {want}",
                        [] if good else [f"kvmload:  {want}",
                                         "kvmwatch: " +
                                         ("no such vCPU thread" if wv is None
                                          else str(got))])
                if wv is not None:
                    # null (unknown) is honest only where kvmwatch said the
                    # point that learns the index is not watched.
                    wid = wv.get("vcpu_id")
                    allowed = [vcpu.get("vcpu_id")]
                    if not index_known:
                        allowed.append(None)
                    good = wid in allowed
                    self.ok(good, f"{name}: vm {pid} tid {tid}: kvmwatch "
                            f"gives vcpu_id {' or '.join(map(str, allowed))}",
                            [] if good else [f"kvmwatch vcpu_id {wid}"])
        return found
