/* A tiny module for debuginfo's tests: built with -c, as a .ko is. */
struct req { int op; unsigned long len; };

volatile long modsink;

__attribute__((noinline)) int mod_submit(struct req *r, int flags)
{
	modsink = r->len + flags;
	return r->op;
}

__attribute__((noinline, section(".text.unlikely"))) long mod_error(int err)
{
	modsink = err;
	return -err;
}

int mod_init(void)
{
	struct req r = { 1, 4096 };
	return mod_submit(&r, 0) + (int)mod_error(2);
}
