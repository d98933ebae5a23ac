/* A strong definition that replaces the weak one in cases.c at link time. */
int weak_overridden(int x)
{
	return x * 7;
}
