/* A cold room, whatever the hardware says. */
int fake_temperature(void)
{
    return 12;
}
