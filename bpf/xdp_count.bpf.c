// A minimal XDP program: counts frames per CPU and passes them on. It exists to prove the
// build chain (clang -> .bpf.o -> bpftool skeleton -> agent) and the attach path end to end.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u64);
} frames SEC(".maps");

SEC("xdp")
int xdp_count(struct xdp_md *ctx) {
  __u32 key = 0;
  __u64 *n = bpf_map_lookup_elem(&frames, &key);
  if (n) *n += 1;
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
