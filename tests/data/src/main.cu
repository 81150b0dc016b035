// The host side of the three-unit executable: it only has to link (each
// unit's fat binary lands in the executable's .nv_fatbin section).
int main(void)
{
	return 0;
}
