int current_year(void);
int price_with_tax(int cents);
int price_without_tax(int cents);
int send_receipt(int total);
