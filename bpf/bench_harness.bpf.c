// Benchmark harness for XDP programs under BPF_PROG_TEST_RUN: `repeat` runs do not restore the
// frame between iterations, so a program that rewrites it (ARP reply, DNAT) would measure a
// different path from the second run on. This program first restores the original frame from
// bench_frame (optionally giving every run a never-seen client address, so each is a new flow),
// then tail-calls the program under test in bench_progs[0]. With the slot empty the tail call falls
// through and it returns XDP_TX: the harness's own cost, reported beside every measurement.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define BENCH_FRAME_MAX 128

struct bench_frame {
  __u32 len;        // bytes of data used (<= BENCH_FRAME_MAX, a multiple of 8 is not required)
  __u32 vary_off;   // if non-zero: offset of a 32-bit field (the IPv4 source address)
                    // rewritten with a counter that never repeats: a 16-bit port would wrap
                    // after 65,536 runs and turn "new flows" into conntrack hits
  __u8 data[BENCH_FRAME_MAX];
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct bench_frame);
} bench_frame SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PROG_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u32);
} bench_progs SEC(".maps");

// One counter for all CPUs (test runs are sequential), so a run on another CPU never replays
// addresses an earlier run used; userspace may seed it.
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u32);
} bench_counter SEC(".maps");

// Where the frame started in this test run's buffer. A program that grows the frame at the front
// (Katran's IPIP encapsulation, bpf_xdp_adjust_head) leaves data moved for the next repeat; the
// harness moves it back. Userspace zeroes `start` before every test run (a new buffer).
struct head {
  __u64 start;
  __u64 now;
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct head);
} bench_head SEC(".maps");

static __always_inline int restore_head(struct xdp_md *ctx, __u32 zero) {
  struct head *h = bpf_map_lookup_elem(&bench_head, &zero);
  if (!h) return -1;
  // Stored and read back so the address is a plain number (a root-only pointer leak into a map,
  // fine for a benchmark that runs as root).
  *(volatile __u64 *)&h->now = (__u64)(long)ctx->data;
  __u64 now = *(volatile __u64 *)&h->now;
  if (h->start == 0) {
    h->start = now;
    return 0;
  }
  __s64 delta = (__s64)(now - h->start);
  if (delta == 0) return 0;
  if (delta < -256 || delta > 256) return -1;
  return bpf_xdp_adjust_head(ctx, (int)-delta);
}

SEC("xdp")
int bench_harness(struct xdp_md *ctx) {
  __u32 zero = 0;
  if (restore_head(ctx, zero)) return XDP_ABORTED;
  // Metadata the previous repeat left (xdp_lb's hand-off to tc) would pile up: drop it.
  long metalen = (long)ctx->data - (long)ctx->data_meta;
  if (metalen > 0 && bpf_xdp_adjust_meta(ctx, (int)metalen)) return XDP_ABORTED;
  struct bench_frame *f = bpf_map_lookup_elem(&bench_frame, &zero);
  if (!f) return XDP_ABORTED;
  __u32 len = f->len;
  if (len > BENCH_FRAME_MAX) return XDP_ABORTED;
  int cur = ctx->data_end - ctx->data;
  if (cur != (int)len && bpf_xdp_adjust_tail(ctx, (int)len - cur)) return XDP_ABORTED;
  void *data = (void *)(long)ctx->data;
  void *data_end = (void *)(long)ctx->data_end;
  if (data + BENCH_FRAME_MAX <= data_end) {
    __builtin_memcpy(data, f->data, BENCH_FRAME_MAX);
  } else {
#pragma unroll
    for (int i = 0; i < BENCH_FRAME_MAX; i++) {
      if (data + i + 1 > data_end) break;
      ((__u8 *)data)[i] = f->data[i];
    }
  }
  __u32 off = f->vary_off;
  if (off) {
    __u32 *n = bpf_map_lookup_elem(&bench_counter, &zero);
    __u8 *p = (__u8 *)data + (off & (BENCH_FRAME_MAX - 1));  // mask: a bound the verifier sees
    if (n && (void *)(p + 4) <= data_end) {
      __u32 v = ++*n;
      p[0] = (__u8)(v >> 24);
      p[1] = (__u8)(v >> 16);
      p[2] = (__u8)(v >> 8);
      p[3] = (__u8)v;
    }
  }
  bpf_tail_call(ctx, &bench_progs, 0);
  return XDP_TX;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
