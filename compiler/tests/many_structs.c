/*
 * More struct types than a small hash map holds before it grows: field
 * tables must stay where the plans point while more are added.
 */
#define S(n)                                                               \
	struct s##n {                                                      \
		long a;                                                    \
		int b[n + 1];                                              \
	};                                                                 \
	long f##n(struct s##n *p) { return p->a + p->b[n]; }
#define S10(n) S(n##0) S(n##1) S(n##2) S(n##3) S(n##4) S(n##5) S(n##6) \
	S(n##7) S(n##8) S(n##9)
S10(1) S10(2) S10(3) S10(4) S10(5) S10(6) S10(7) S10(8) S10(9)
