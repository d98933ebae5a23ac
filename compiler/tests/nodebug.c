/* Built without -g: no DISubprogram, so the plugin must leave it alone. */
int nodebug_fn(int x)
{
	return x + 5;
}
