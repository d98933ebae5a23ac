/* Built by build.sh with the compiler plugin into layout.elf, the fixture of
 * TestReadLayoutELF: two static functions named type_show with different
 * shapes, a weak function overridden by b.c, an asm label, a bitfield. */
struct attr {
	int mode;
	unsigned ro : 1, hidden : 1;
};

static __attribute__((noinline)) long type_show(struct attr *a, char *buf)
{
	return a->mode + buf[0];
}

__attribute__((weak, noinline)) int defaulted(int x, int y) { return x + y; }

__attribute__((noinline)) int labelled(int x) __asm__("renamed_label");
__attribute__((noinline)) int labelled(int x) { return x * 3; }

long a_entry(struct attr *a, char *buf) { return type_show(a, buf) + labelled(1); }
